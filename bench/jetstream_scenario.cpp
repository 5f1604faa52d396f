// The jetstream scenario: what nats-server's JetStream does on this machine with libnats and no
// bus, the baseline a clustered cascade is measured against: publishes with a Nats-Msg-Id
// (one at a time, waiting for each ack, then pipelined), then a durable pull consumer fetching
// and acknowledging them. It needs a nats-server with JetStream (--nats, or $NATS_URL;
// scripts/with-nats-server starts one in a temporary folder).
#include "report.hpp"
#include "scenarios.hpp"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cluster/nats_client.hpp>
#include <cluster/nats_error.hpp>
#include <cluster/streams.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace cascade::bench {
namespace {

using clock = std::chrono::steady_clock;
using cluster::throw_unless_ok;

constexpr const char* bench_stream = "CASCADE_BENCH";
constexpr const char* bench_subject = "bench.in.0";

struct jetstream_settings {
    std::string url = nats_url_from_environment();
    std::size_t messages = 100'000;
    std::size_t one_by_one = 5'000;  ///< published (and acknowledged) one at a time, for latency
    std::size_t payload = 128;
    int max_pending = 4096;  ///< pipelined publishes not yet acknowledged, at most
    int fetch_batch = 256;
};

/// A fresh stream for the run (the previous run's removed), file storage as durability needs.
void recreate_stream(cluster::nats_client& client) {
    jsErrCode code{};
    (void)js_DeleteStream(client.jetstream(), bench_stream, nullptr, &code);
    cluster::ensure_stream(client, {.name = bench_stream, .subjects = "bench.in.*"});
}

[[nodiscard]] jsPubOptions with_msg_id(const std::string& id) {
    jsPubOptions options;
    jsPubOptions_Init(&options);
    options.MsgId = id.c_str();
    return options;
}

void publish_one_by_one(const jetstream_settings& s, jsCtx* jetstream, const std::string& payload, report& out) {
    latency_recorder latency;
    latency.reserve(s.one_by_one);
    const auto start = clock::now();
    for (std::size_t i = 0; i < s.one_by_one; ++i) {
        const auto id = "sync-" + std::to_string(i);
        auto options = with_msg_id(id);
        jsPubAck* ack = nullptr;
        jsErrCode code{};
        const auto sent = clock::now();
        throw_unless_ok(js_Publish(&ack, jetstream, bench_subject, payload.data(), static_cast<int>(payload.size()),
                                   &options, &code),
                        "publishing");
        latency.add(clock::now() - sent);
        jsPubAck_Destroy(ack);
    }
    const std::chrono::duration<double> elapsed = clock::now() - start;
    out.rate("publish, ack awaited", "publishes_per_second", static_cast<double>(s.one_by_one) / elapsed.count());
    out.duration("  p50", "publish_p50", latency.percentile(0.50));
    out.duration("  p99", "publish_p99", latency.percentile(0.99));
}

void publish_pipelined(const jetstream_settings& s, jsCtx* jetstream, const std::string& payload, report& out) {
    const auto start = clock::now();
    for (std::size_t i = 0; i < s.messages; ++i) {
        const auto id = "async-" + std::to_string(i);
        auto options = with_msg_id(id);
        throw_unless_ok(
            js_PublishAsync(jetstream, bench_subject, payload.data(), static_cast<int>(payload.size()), &options),
            "publishing");
    }
    jsPubOptions wait_all;
    jsPubOptions_Init(&wait_all);
    wait_all.MaxWait = 60'000;
    throw_unless_ok(js_PublishAsyncComplete(jetstream, &wait_all), "waiting for the publish acks");
    const std::chrono::duration<double> elapsed = clock::now() - start;
    out.rate("publish, pipelined", "publishes_per_second", static_cast<double>(s.messages) / elapsed.count());
}

void pull_and_ack(const jetstream_settings& s, const cluster::nats_client& client, jsCtx* jetstream, report& out) {
    jsSubOptions options;
    jsSubOptions_Init(&options);
    options.Stream = bench_stream;
    options.Config.AckPolicy = js_AckExplicit;
    options.Config.MaxAckPending = 8 * s.fetch_batch;
    natsSubscription* subscription = nullptr;
    jsErrCode code{};
    throw_unless_ok(js_PullSubscribe(&subscription, jetstream, bench_subject, "bench", nullptr, &options, &code),
                    "consuming");
    const auto total = s.one_by_one + s.messages;
    std::size_t acknowledged = 0;
    const auto start = clock::now();
    while (acknowledged < total) {
        natsMsgList list{};
        const auto status = natsSubscription_Fetch(&list, subscription, s.fetch_batch, 5'000, &code);
        if (status != NATS_OK) {
            natsMsgList_Destroy(&list);
            natsSubscription_Destroy(subscription);
            throw_unless_ok(status, "fetching");
        }
        for (int i = 0; i < list.Count; ++i) {
            throw_unless_ok(natsMsg_Ack(list.Msgs[i], nullptr), "acknowledging");
        }
        acknowledged += static_cast<std::size_t>(list.Count);
        natsMsgList_Destroy(&list);
    }
    throw_unless_ok(natsConnection_Flush(client.connection()), "flushing the acks");
    const std::chrono::duration<double> elapsed = clock::now() - start;
    natsSubscription_Destroy(subscription);
    out.rate("pull + ack", "consumed_per_second", static_cast<double>(total) / elapsed.count());
}

void run_jetstream(const jetstream_settings& s, report& out) {
    std::printf("jetstream (libnats, no bus) at %s: %zu messages of %zu bytes, %zu of them one by one\n", s.url.c_str(),
                s.messages + s.one_by_one, s.payload, s.one_by_one);
    cluster::nats_client client{{.url = s.url, .name = "cascade-bench"}};
    jsOptions options;
    jsOptions_Init(&options);
    options.PublishAsync.MaxPending = s.max_pending;
    jsCtx* raw = nullptr;
    throw_unless_ok(natsConnection_JetStream(&raw, client.connection(), &options), "opening JetStream");
    const cluster::jetstream_handle jetstream{raw};
    recreate_stream(client);
    const std::string payload(s.payload, 'x');
    const auto scope = out.with({{"series", "jetstream"}});
    publish_one_by_one(s, raw, payload, out);
    publish_pipelined(s, raw, payload, out);
    pull_and_ack(s, client, raw, out);
    jsErrCode code{};
    (void)js_DeleteStream(raw, bench_stream, nullptr, &code);
}

jetstream_settings& settings() {
    static jetstream_settings s;
    return s;
}

}  // namespace

std::string nats_url_from_environment() {
    const char* url = std::getenv("NATS_URL");
    return url != nullptr ? url : "nats://127.0.0.1:4222";
}

void run_jetstream_baseline(const std::string& url, report& out) {
    jetstream_settings s;
    s.url = url;
    run_jetstream(s, out);
}

void add_jetstream_scenario(CLI::App& app, report& out) {
    auto& s = settings();
    auto* cmd =
        app.add_subcommand("jetstream", "NATS JetStream with libnats and no bus: publish with Msg-Id, pull, ack");
    cmd->add_option("--nats", s.url, "nats-server URL (default: $NATS_URL, else nats://127.0.0.1:4222)");
    cmd->add_option("--messages", s.messages, "messages published pipelined, then pulled")->capture_default_str();
    cmd->add_option("--one-by-one", s.one_by_one, "messages published one at a time first")->capture_default_str();
    cmd->add_option("--payload", s.payload, "bytes per message")->capture_default_str();
    cmd->callback([&s, &out] { run_jetstream(s, out); });
}

}  // namespace cascade::bench
