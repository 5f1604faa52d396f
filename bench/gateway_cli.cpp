// The gateway scenario's command line.
#include "gateway_scenario.hpp"
#include "gateway_settings.hpp"
#include "scenarios.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>

namespace cascade::bench {

namespace {

gateway_settings& settings() {
    static gateway_settings s;
    return s;
}

std::string& sweep_text() {
    static std::string text;
    return text;
}

}  // namespace

void add_gateway_scenario(CLI::App& app, report& out) {
    auto& s = settings();
    auto* cmd = app.add_subcommand("gateway", "WebSocket gateway: submits and streamed events per second, latency");
    cmd->add_option("--connections", s.connections, "WebSocket connections")->capture_default_str();
    cmd->add_option("--inflight", s.inflight, "submits in flight per connection")->capture_default_str();
    cmd->add_option("--seconds", s.seconds, "length of the measured run")->capture_default_str();
    cmd->add_option("--url", s.url, "a running protocol-v1 server (ws://HOST:PORT/ws); default: start one in-process");
    cmd->add_option("--store", s.store,
                    "store of the in-process server: memory, sqlite (durable, group commit), sqlite-per-record "
                    "(durable, one journal commit per record) or all, one run each")
        ->capture_default_str()
        ->check(CLI::IsMember({"memory", "sqlite", "sqlite-per-record", "all"}));
    cmd->add_option("--server-threads", s.server_threads, "I/O threads of the in-process server")
        ->capture_default_str();
    cmd->add_option("--bus-threads", s.bus_threads,
                    "bus threads of the in-process server; 0: the cores its I/O threads leave, at least 1")
        ->capture_default_str();
    cmd->add_option("--bus-executor", s.bus_executor,
                    "where the in-process server's bus runs: pool (threads of its own), io (the first I/O thread) "
                    "or both, one run each")
        ->capture_default_str()
        ->check(CLI::IsMember({"pool", "io", "both"}));
    cmd->add_option("--rate", s.rate,
                    "submits per second in all, open loop: each sent at its planned time, latency counted from "
                    "it (--inflight then caps the unanswered submits of a connection); default: closed loop")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--client-threads", s.client_threads, "threads of the load client")->capture_default_str();
    cmd->add_option("--skus", s.skus, "distinct SKUs (one lane each)")->capture_default_str();
    cmd->add_flag("!--no-baseline", s.baseline,
                  "skip the run against canned replies (the transport alone; never run with --url)");
    cmd->add_option("--sweep", sweep_text(),
                    "one run per value, as a series: connections=1,4,16,64,256 or inflight=1,4,16,64")
        ->check([](const std::string& text) {
            try {
                (void)parse_sweep(text);
                return std::string{};
            } catch (const std::invalid_argument& e) {
                return std::string{e.what()};
            }
        });
    cmd->callback([&s, &out] {
        try {
            (void)(sweep_text().empty() ? run_gateway(s, out) : run_gateway_sweep(s, parse_sweep(sweep_text()), out));
        } catch (const std::exception& e) {
            std::fprintf(stderr, "gateway scenario failed: %s\n", e.what());
            throw CLI::RuntimeError{1};
        }
    });
}

}  // namespace cascade::bench
