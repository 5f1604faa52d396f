// cascade-bench: throughput and latency scenarios, each with its baseline in the same run.
#include "scenarios.hpp"

#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
    CLI::App app{"cascade-bench: throughput and latency of the cascade bus and its gateway"};
    app.require_subcommand(0, 1);
    cascade::bench::add_bus_scenarios(app);
    cascade::bench::add_allocation_scenario(app);
    cascade::bench::add_gateway_scenario(app);
    cascade::bench::add_feed_scenario(app);
    CLI11_PARSE(app, argc, argv);
    if (app.get_subcommands().empty()) {
        // No scenario named: run the default set with default settings.
        return cascade::bench::run_default_scenarios();
    }
    return 0;
}
