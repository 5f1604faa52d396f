#pragma once
// Each scenario file adds its subcommand to the cascade-bench command line; each prints its
// figures through the one report of the invocation.

#include <string>

namespace CLI {
class App;
}

namespace cascade::bench {

class report;

void add_bus_scenarios(CLI::App& app, report& out);  ///< bus_scenarios.cpp: "bus" (throughput + baseline, latency)
void add_allocation_scenario(CLI::App& app, report& out);  ///< allocation_scenario.cpp: "allocation"
void add_gateway_scenario(CLI::App& app, report& out);     ///< gateway_cli.cpp: "gateway" (WebSocket load client)
void add_feed_scenario(CLI::App& app, report& out);  ///< feed_scenario.cpp: "feed" (publish cost against subscriptions)
void add_jetstream_scenario(CLI::App& app, report& out);  ///< jetstream_scenario.cpp: "jetstream" (the raw baseline)
void add_cluster_scenario(CLI::App& app, report& out);    ///< cluster_scenario.cpp: "cluster" (cluster::node)

/// $NATS_URL (which scripts/with-nats-server sets), else nats://127.0.0.1:4222: the default of
/// the scenarios that need a nats-server (jetstream_scenario.cpp).
[[nodiscard]] std::string nats_url_from_environment();

/// The jetstream scenario with its default settings against `url` (the cluster scenario's baseline).
void run_jetstream_baseline(const std::string& url, report& out);

/// The allocation scenario with its default settings (allocation_scenario.cpp); 0 when every
/// command succeeded.
[[nodiscard]] int run_allocation_scenario_defaults(report& out);

/// What `cascade-bench` with no arguments runs.
[[nodiscard]] int run_default_scenarios(report& out);

}  // namespace cascade::bench
