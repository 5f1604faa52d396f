// The gateway scenario: C WebSocket connections with W submits in flight on each, for a while,
// against cascade-server in-process (the allocation domain) or any protocol-v1 server by URL.
// It reports submits and streamed events per second, submit-to-done latency, and the server's
// peak memory (read from its /metrics). In-process, it runs the bus both ways cascade-server can:
// on threads of its own, and on the gateway's I/O thread. A baseline run then applies the same
// load to canned replies (transport_baseline.hpp), to show what Beast and loopback TCP alone cost.
#include "gateway_scenario.hpp"

#include "gateway/io_pool.hpp"
#include "gateway_load.hpp"
#include "local_server.hpp"
#include "report.hpp"
#include "thread_cpu.hpp"
#include "transport_baseline.hpp"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <unistd.h>
#include <vector>

namespace cascade::bench {

namespace {

/// "CPU per submit (who)": `cpu_seconds` over the submits done, "n/a" when none were.
void print_cpu_per_submit(report& out, std::string_view who, std::string name, double cpu_seconds, std::uint64_t done) {
    const auto label = fmt::format("CPU per submit ({})", who);
    if (done == 0) {
        out.row(label, "n/a", {});
        return;
    }
    out.duration(label, std::move(name),
                 std::chrono::duration_cast<std::chrono::nanoseconds>(
                     std::chrono::duration<double>(cpu_seconds / static_cast<double>(done))));
}

/// The open loop's target against what was done; achieved within 3% (the window's edges).
void print_rate_achieved(report& out, double target, double done_per_second) {
    const double fraction = done_per_second / target;
    out.row("open-loop rate achieved",
            fmt::format("{} of {} ({:.0f}%): {}", format_rate(done_per_second), format_rate(target), fraction * 100,
                        fraction >= 0.97 ? "yes" : "NO"),
            {{.name = "target_rate", .value = target, .unit = "1/s"},
             {.name = "rate_achieved", .value = fraction, .unit = "x"}});
}

/// `process` names what ran in this process during the load (the CPU rows cover all of it).
void print_figures(report& out, load_figures& f, std::string_view process) {
    auto& total = f.total;
    const double done_per_second = static_cast<double>(total.done) / f.elapsed;
    out.rate("submits done", "submits_per_second", done_per_second);
    if (f.target_rate > 0) {
        print_rate_achieved(out, f.target_rate, done_per_second);
    }
    out.rate("streamed events", "events_per_second", static_cast<double>(total.events) / f.elapsed);
    const auto* origin = f.target_rate > 0 ? "latency p50 (planned send to done)" : "latency p50 (submit to done)";
    out.duration(origin, "latency_p50", total.latency.percentile(0.50));
    out.duration("latency p99", "latency_p99", total.latency.percentile(0.99));
    out.duration("latency p99.9", "latency_p99_9", total.latency.percentile(0.999));
    out.row("failed / refused", std::to_string(total.failed) + " / " + std::to_string(total.refused),
            {{.name = "failed", .value = static_cast<double>(total.failed), .unit = "count"},
             {.name = "refused", .value = static_cast<double>(total.refused), .unit = "count"}});
    // Where throughput stops: how many of the machine's cores the run kept busy, and what one
    // submit cost them; then the server's threads alone, without the client that loads them.
    print_cpu_per_submit(out, process, "cpu_per_submit", f.cpu_seconds, total.done);
    const double cores_busy = f.cpu_seconds / f.elapsed;
    out.row(fmt::format("cores busy ({})", process), fmt::format("{:.2f}", cores_busy),
            {{.name = "cores_busy", .value = cores_busy, .unit = "cores"}});
    if (f.server_cpu_seconds) {
        const auto threads = fmt::format("server, {} thread{}", f.server_threads, f.server_threads == 1 ? "" : "s");
        print_cpu_per_submit(out, threads, "server_cpu_per_submit", *f.server_cpu_seconds, total.done);
        const double server_cores = *f.server_cpu_seconds / f.elapsed;
        out.row(fmt::format("cores busy ({})", threads), fmt::format("{:.2f}", server_cores),
                {{.name = "server_cores_busy", .value = server_cores, .unit = "cores"}});
    }
}

/// Runs the load against `url` and prints its figures; `local` is the in-process server, if any.
/// Returns the submits done per second.
double measure(report& out, const gateway_settings& s, const std::string& url, const local_server* local) {
    const auto where = parse_url(url);
    const auto endpoint = resolve(where);
    auto figures = apply_load(s, where, endpoint, local != nullptr ? &local->threads() : nullptr);
    print_figures(out, figures, local != nullptr ? "client and server" : "client");
    const double server_mib = server_peak_mib(endpoint);
    const auto* memory_label = local != nullptr ? "peak memory (server and client, one process)" : "server peak memory";
    if (server_mib < 0) {
        out.row(memory_label, "n/a (no /metrics)", {});
    } else {
        out.mebibytes(memory_label, "peak_memory", server_mib);
    }
    return static_cast<double>(figures.total.done) / figures.elapsed;
}

/// What a store setting means, for the run's heading.
[[nodiscard]] std::string describe_store(const std::string& store) {
    if (store == "sqlite") {
        return "sqlite store, durable (group commit)";
    }
    if (store == "sqlite-per-record") {
        return "sqlite store, durable, one journal commit per record";
    }
    return "memory store, not durable";
}

/// One run against an in-process server, its bus on threads of its own or on the I/O thread;
/// returns the submits done per second.
double measure_local(report& out, const gateway_settings& s, bool bus_on_io) {
    const auto db = std::filesystem::temp_directory_path() / ("cascade-bench-" + std::to_string(::getpid()) + ".db");
    double rate = 0;
    {
        const local_server local{s, db, bus_on_io};
        const auto url = "ws://127.0.0.1:" + std::to_string(local.port()) + "/ws";
        const auto store = describe_store(s.store);
        if (bus_on_io) {
            std::printf(
                "  bus on the first I/O thread (--bus-executor io): %s, %zu I/O thread(s); client %zu "
                "thread(s)\n",
                store.c_str(), s.server_threads, s.client_threads);
        } else {
            std::printf(
                "  bus on %zu thread(s) of its own (--bus-executor pool): %s, %zu I/O thread(s); "
                "client %zu thread(s)\n",
                s.bus_threads, store.c_str(), s.server_threads, s.client_threads);
        }
        const auto scope =
            out.with({{"series", "cascade"}, {"store", s.store}, {"bus_executor", bus_on_io ? "io" : "pool"}});
        rate = measure(out, s, url, &local);
    }
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm"}) {
        std::filesystem::remove(db.string() + suffix, ignored);
    }
    return rate;
}

}  // namespace

int run_gateway(gateway_settings s, report& out) {
    if (s.bus_threads == 0) {
        s.bus_threads = gateway::default_bus_threads(s.server_threads);
    }
    spdlog::set_level(spdlog::level::warn);
    if (s.open_loop()) {
        std::printf(
            "gateway: open loop at %.0f submits/s over %zu connections (at most %zu unanswered each), %.1f s, "
            "AllocationRequired over %zu SKUs\n",
            s.rate, s.connections, s.inflight, s.seconds, s.skus);
    } else {
        std::printf(
            "gateway: closed loop (the saturating rate), %zu connections x %zu submits in flight, %.1f s, "
            "AllocationRequired over %zu SKUs\n",
            s.connections, s.inflight, s.seconds, s.skus);
    }
    auto attributes =
        nlohmann::ordered_json{{"connections", s.connections}, {"inflight", s.inflight}, {"seconds", s.seconds}};
    if (s.open_loop()) {
        attributes["rate"] = s.rate;
    }
    const auto scope = out.with(std::move(attributes));
    if (!s.url.empty()) {
        std::printf("  server at %s; client %zu thread(s)\n", s.url.c_str(), s.client_threads);
        const auto remote = out.with({{"series", "cascade"}, {"url", s.url}});
        (void)measure(out, s, s.url, nullptr);
        return 0;  // a server elsewhere is not compared with canned replies here: they share no machine
    }
    std::printf("cascade-server in-process\n");
    const std::vector<std::string> stores =
        s.store == "all" ? std::vector<std::string>{"memory", "sqlite", "sqlite-per-record"} : std::vector{s.store};
    std::map<std::string, double> pool_rates;
    for (const auto& store : stores) {
        auto run = s;
        run.store = store;
        if (s.bus_executor != "io") {
            pool_rates[store] = measure_local(out, run, false);
        }
        if (s.bus_executor != "pool") {
            (void)measure_local(out, run, true);
        }
    }
    if (pool_rates.contains("memory") && pool_rates.contains("sqlite") && pool_rates["memory"] > 0) {
        const double ratio = pool_rates["sqlite"] / pool_rates["memory"];
        const auto ratio_scope = out.with({{"series", "cascade"}, {"bus_executor", "pool"}});
        out.row("durable (group commit) / memory, bus on its own thread", fmt::format("{:.2f}x", ratio),
                {{.name = "sqlite_over_memory", .value = ratio, .unit = "x"}});
    }
    if (s.baseline) {
        const transport_baseline baseline{s.server_threads};
        std::printf("baseline: the same load against canned replies (%zu I/O thread(s); no bus, no domain, no JSON)\n",
                    s.server_threads);
        const target canned{.host = "127.0.0.1", .port = std::to_string(baseline.port()), .path = "/ws"};
        auto floor = apply_load(s, canned, resolve(canned), &baseline.threads());
        const auto baseline_scope = out.with({{"series", "baseline"}});
        print_figures(out, floor, "client and canned server");
    }
    return 0;
}

int run_gateway_sweep(const gateway_settings& s, const gateway_sweep& sweep, report& out) {
    out.annotate("sweep", {{"parameter", sweep.parameter}, {"values", sweep.values}});
    for (std::size_t i = 0; i < sweep.values.size(); ++i) {
        const auto value = sweep.values[i];
        std::printf("sweep %s = %zu (%zu of %zu)\n", sweep.parameter.c_str(), value, i + 1, sweep.values.size());
        const auto scope = out.with({{"sweep", {{"parameter", sweep.parameter}, {"value", value}}}});
        if (const int status = run_gateway(with_value(s, sweep.parameter, value), out); status != 0) {
            return status;
        }
    }
    return 0;
}

}  // namespace cascade::bench
