// The cluster scenario: submits through cluster::node, with 1 and with 3 instances in this process
// (each on its own connection) on one nats-server, each submit waited for until its done; beside
// the raw JetStream baseline of the same run (publish with Nats-Msg-Id, pull, ack: the jetstream
// scenario). The handler is trivial, so the figures are the cluster's own cost per message.
// Needs a nats-server with JetStream (--nats, or $NATS_URL; scripts/with-nats-server).
#include "report.hpp"
#include "scenarios.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <cluster/inbound_stream.hpp>
#include <cluster/lease_table.hpp>
#include <cluster/member_roster.hpp>
#include <cluster/nats_client.hpp>
#include <cluster/node.hpp>
#include <cluster/report_stream.hpp>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace cascade::bench {
namespace {

using clock = std::chrono::steady_clock;

struct cluster_settings {
    std::string url = nats_url_from_environment();
    std::size_t submits = 20'000;
    std::size_t keys = 1'000;
    std::size_t submitters = 8;  ///< threads, each submitting and waiting for its done
    std::uint32_t partitions = 16;
};

/// Everything a previous run left in nats-server: the streams, and the streams under the buckets
/// (JetStream keeps bucket B in the stream KV_B).
void clear_cluster_state(const cluster::nats_client& client) {
    const std::string streams[] = {cluster::inbound_stream::name, cluster::report_stream::name,
                                   std::string{"KV_"} + cluster::lease_table::bucket,
                                   std::string{"KV_"} + cluster::member_roster::bucket};
    for (const auto& stream : streams) {
        jsErrCode code{};
        (void)js_DeleteStream(client.jetstream(), stream.c_str(), nullptr, &code);
    }
}

/// One waiting submit: done when its cascade's done arrives.
class done_signal {
public:
    void set() {
        // Notified under the lock: the waiter may return, and destroy this, as soon as it is free.
        const std::scoped_lock lock{mutex_};
        done_ = true;
        ready_.notify_one();
    }
    /// False when the done did not come within `timeout`.
    [[nodiscard]] bool wait(std::chrono::seconds timeout) {
        std::unique_lock lock{mutex_};
        return ready_.wait_for(lock, timeout, [this] { return done_; });
    }

private:
    std::mutex mutex_;
    std::condition_variable ready_;
    bool done_ = false;
};

/// `instances` nodes in this process on a pool of two threads; each submitter thread
/// submits to them in turn and waits for each done.
void run_nodes(const cluster_settings& s, std::size_t instances, report& out) {
    boost::asio::thread_pool pool{2};  // declared first: the nodes stop their feeds on it
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
            *clients.back(), cluster::node_settings{.instance = name, .partitions = s.partitions}, pool.get_executor(),
            trivial));
    }
    // Wait until the partitions are shared out, so that the run measures handling, not claiming.
    const auto settle_by = clock::now() + std::chrono::seconds{30};
    for (;;) {
        std::size_t held = 0;
        for (const auto& n : nodes) {
            held += n->held().size();
        }
        if (held == s.partitions && nodes.back()->held().size() >= s.partitions / instances) {
            break;
        }
        if (clock::now() >= settle_by) {
            throw std::runtime_error{"the partitions were not shared out within 30 s"};
        }
        std::this_thread::sleep_for(std::chrono::milliseconds{50});
    }

    std::atomic<std::size_t> next{0};
    std::atomic<std::size_t> failures{0};
    const auto run_tag =
        "run" + std::to_string(clock::now().time_since_epoch().count()) + "x" + std::to_string(instances);
    std::vector<latency_recorder> latencies(s.submitters);
    const auto start = clock::now();
    std::vector<std::thread> submitters;
    for (std::size_t t = 0; t < s.submitters; ++t) {
        submitters.emplace_back([&, t] {
            try {
                for (auto i = next.fetch_add(1); i < s.submits; i = next.fetch_add(1)) {
                    const auto key = "key-" + std::to_string(i % s.keys);
                    // Shared with the watcher, which may still be called after a wait gave up.
                    const auto done = std::make_shared<done_signal>();
                    const auto sent = clock::now();
                    // A fresh id per run: nats-server remembers ids for its duplicate window.
                    const auto id = run_tag + "-" + std::to_string(i);
                    const auto receipt = nodes[i % instances]->submit(
                        id, key, R"({"n":1})",
                        {.on_event = [](std::string_view) {}, .on_done = [done] { done->set(); }});
                    if (receipt.duplicate || !done->wait(std::chrono::seconds{60})) {
                        failures.fetch_add(1);
                        return;
                    }
                    latencies[t].add(clock::now() - sent);
                }
            } catch (const std::exception&) {
                failures.fetch_add(1);  // nats-server refused or went away
            }
        });
    }
    for (auto& submitter : submitters) {
        submitter.join();
    }
    const std::chrono::duration<double> elapsed = clock::now() - start;
    if (failures.load() > 0) {
        throw std::runtime_error{std::to_string(failures.load()) + " submits got no done (or were duplicates)"};
    }
    latency_recorder all;
    for (const auto& l : latencies) {
        all.merge(l);
    }
    const auto scope = out.with({{"series", "cascade"}, {"instances", instances}});
    out.rate(std::to_string(instances) + (instances == 1 ? " instance" : " instances"), "submits_per_second",
             static_cast<double>(s.submits) / elapsed.count(), "submits to done");
    out.duration("  p50", "latency_p50", all.percentile(0.50));
    out.duration("  p99", "latency_p99", all.percentile(0.99));
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
