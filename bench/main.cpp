// cascade-bench: throughput and latency scenarios, each with its baseline in the same run.
#include "report.hpp"
#include "run_record.hpp"
#include "scenarios.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <string>

int main(int argc, char** argv) {
    CLI::App app{"cascade-bench: throughput and latency of the cascade bus and its gateway"};
    app.require_subcommand(0, 1);
    // --json may follow the scenario's own options: they fall through to this app (set before
    // the subcommands are added, which inherit it).
    app.fallthrough();
    std::string json_path;
    app.add_option("--json", json_path, "also write every figure, with the machine and the commit, to this JSON file");
    cascade::bench::report out;
    cascade::bench::add_bus_scenarios(app, out);
    cascade::bench::add_allocation_scenario(app, out);
    cascade::bench::add_gateway_scenario(app, out);
    cascade::bench::add_feed_scenario(app, out);
    cascade::bench::add_jetstream_scenario(app, out);
    cascade::bench::add_cluster_scenario(app, out);
    CLI11_PARSE(app, argc, argv);
    int status = 0;
    std::string scenario = "default";
    if (app.get_subcommands().empty()) {
        // No scenario named: run the default set with default settings.
        status = cascade::bench::run_default_scenarios(out);
    } else {
        scenario = app.get_subcommands().front()->get_name();
    }
    if (!json_path.empty()) {
        try {
            cascade::bench::write_run_record(json_path, out, scenario, argc, argv);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "cascade-bench: %s\n", e.what());
            return 1;
        }
    }
    return status;
}
