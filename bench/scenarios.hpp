#pragma once
// Each scenario file adds its subcommand to the cascade-bench command line.

namespace CLI {
class App;
}

namespace cascade::bench {

void add_bus_scenarios(CLI::App& app);        ///< bus_scenarios.cpp: "bus" (throughput + baseline, latency)
void add_allocation_scenario(CLI::App& app);  ///< allocation_scenario.cpp: "allocation"
void add_gateway_scenario(CLI::App& app);     ///< gateway_scenario.cpp: "gateway" (WebSocket load client)
void add_feed_scenario(CLI::App& app);        ///< feed_scenario.cpp: "feed" (publish cost against subscriptions)

/// The allocation scenario with its default settings (allocation_scenario.cpp); 0 when every
/// command succeeded.
[[nodiscard]] int run_allocation_scenario_defaults();

/// What `cascade-bench` with no arguments runs.
[[nodiscard]] int run_default_scenarios();

}  // namespace cascade::bench
