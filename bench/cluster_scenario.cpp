// The cluster scenario: submits through cluster::node, with 1 and with 3 instances in this process
// (each on its own connection) on one nats-server, each submit waited for until its done; beside
// the raw JetStream baseline of the same run (publish with Nats-Msg-Id, pull, ack: the jetstream
// scenario). The handler is trivial, so the figures are the cluster's own cost per message.
// Needs a nats-server with JetStream (--nats, or $NATS_URL; scripts/with-nats-server).
#include "report.hpp"
#include "scenarios.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <cluster/nats_client.hpp>
#include <cluster/nats_error.hpp>
#include <cluster/node.hpp>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cascade::bench {
namespace {

using clock = std::chrono::steady_clock;

struct cluster_settings {
    std::string url = std::getenv("NATS_URL") != nullptr ? std::getenv("NATS_URL") : "nats://127.0.0.1:4222";
    std::size_t submits = 20'000;
    std::size_t keys = 1'000;
    std::size_t submitters = 8;  ///< threads, each submitting and waiting for its done
    std::uint32_t partitions = 16;
};

/// Everything a previous run left in nats-server: the streams and the buckets' streams.
void clear_cluster_state(const cluster::nats_client& client) {
    for (const char* stream : {"CASCADE_IN", "CASCADE_REPORTS", "KV_cascade_leases", "KV_cascade_members"}) {
        jsErrCode code{};
        (void)js_DeleteStream(client.jetstream(), stream, nullptr, &code);
    }
}

/// One waiting submit: done when its cascade's done arrives.
class done_signal {
public:
    void set() {
        {
            const std::scoped_lock lock{mutex_};
            done_ = true;
        }
        ready_.notify_one();
    }
    void wait() {
        std::unique_lock lock{mutex_};
        ready_.wait(lock, [this] { return done_; });
    }

private:
    std::mutex mutex_;
    std::condition_variable ready_;
    bool done_ = false;
};

/// `instances` nodes in this process on an io_context of two threads; each submitter thread
/// submits to them in turn and waits for each done.
void run_nodes(const cluster_settings& s, std::size_t instances, report& out) {
    boost::asio::io_context io;
    auto work = boost::asio::make_work_guard(io);
    std::vector<std::thread> runners;
    for (int i = 0; i < 2; ++i) {
        runners.emplace_back([&io] { io.run(); });
    }
    std::vector<std::unique_ptr<cluster::nats_client>> clients;
    std::vector<std::unique_ptr<cluster::node>> nodes;
    const cluster::message_handler trivial =
        [](const cluster::cluster_message&) -> boost::asio::awaitable<std::vector<cluster::raised_message>> {
        co_return std::vector<cluster::raised_message>{};
    };
    for (std::size_t i = 0; i < instances; ++i) {
        const auto name = "bench-" + std::to_string(i);
        clients.push_back(std::make_unique<cluster::nats_client>(cluster::client_options{.url = s.url, .name = name}));
        nodes.push_back(std::make_unique<cluster::node>(
            *clients.back(), cluster::node_settings{.instance = name, .partitions = s.partitions}, io.get_executor(),
            trivial));
    }
    // Wait until the partitions are shared out, so that the run measures handling, not claiming.
    const auto settle_by = clock::now() + std::chrono::seconds{30};
    while (clock::now() < settle_by) {
        std::size_t held = 0;
        for (const auto& n : nodes) {
            held += n->held().size();
        }
        if (held == s.partitions && nodes.back()->held().size() >= s.partitions / instances) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds{50});
    }

    std::atomic<std::size_t> next{0};
    std::vector<latency_recorder> latencies(s.submitters);
    const auto start = clock::now();
    std::vector<std::thread> submitters;
    for (std::size_t t = 0; t < s.submitters; ++t) {
        submitters.emplace_back([&, t] {
            for (auto i = next.fetch_add(1); i < s.submits; i = next.fetch_add(1)) {
                const auto key = "key-" + std::to_string(i % s.keys);
                done_signal done;
                const auto sent = clock::now();
                (void)nodes[i % instances]->submit(
                    "bench-" + std::to_string(i), key, R"({"n":1})",
                    {.on_event = [](std::string_view) {}, .on_done = [&done] { done.set(); }});
                done.wait();
                latencies[t].add(clock::now() - sent);
            }
        });
    }
    for (auto& submitter : submitters) {
        submitter.join();
    }
    const std::chrono::duration<double> elapsed = clock::now() - start;
    latency_recorder all;
    for (const auto& l : latencies) {
        all.merge(l);
    }
    const auto scope = out.with({{"series", "cascade"}, {"instances", instances}});
    out.rate(std::to_string(instances) + (instances == 1 ? " instance" : " instances"), "submits_per_second",
             static_cast<double>(s.submits) / elapsed.count(), "submits to done");
    out.duration("  p50", "latency_p50", all.percentile(0.50));
    out.duration("  p99", "latency_p99", all.percentile(0.99));
    nodes.clear();
    clients.clear();
    work.reset();
    io.stop();
    for (auto& runner : runners) {
        runner.join();
    }
}

void run_cluster(const cluster_settings& s, report& out) {
    std::printf("cluster at %s: %zu submits over %zu aggregates, %zu submitters waiting for each done, %u partitions\n",
                s.url.c_str(), s.submits, s.keys, s.submitters, s.partitions);
    run_jetstream_baseline(s.url, out);
    for (const std::size_t instances : {std::size_t{1}, std::size_t{3}}) {
        {
            const cluster::nats_client cleaner{{.url = s.url, .name = "cascade-bench"}};
            clear_cluster_state(cleaner);
        }
        run_nodes(s, instances, out);
    }
}

cluster_settings& settings() {
    static cluster_settings s;
    return s;
}

}  // namespace

void add_cluster_scenario(CLI::App& app, report& out) {
    auto& s = settings();
    auto* cmd =
        app.add_subcommand("cluster", "cluster::node with 1 and 3 instances on nats-server, beside raw JetStream");
    cmd->add_option("--nats", s.url, "nats-server URL (default: $NATS_URL, else nats://127.0.0.1:4222)");
    cmd->add_option("--submits", s.submits, "submits, each waited for until done")->capture_default_str();
    cmd->add_option("--keys", s.keys, "aggregates they spread over")->capture_default_str();
    cmd->add_option("--submitters", s.submitters, "threads submitting")->capture_default_str();
    cmd->add_option("--partitions", s.partitions, "partitions of the cluster")->capture_default_str();
    cmd->callback([&s, &out] { run_cluster(s, out); });
}

}  // namespace cascade::bench
