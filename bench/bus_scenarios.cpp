// The bus scenarios: raw throughput against a strand baseline, and cascade latency.
#include "allocation_counter.hpp"
#include "bus_memory.hpp"
#include "bus_workload.hpp"
#include "progress.hpp"
#include "report.hpp"
#include "scenarios.hpp"

#include <cascade/bus.hpp>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <cstdio>
#include <future>
#include <mutex>

namespace cascade::bench {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

namespace {

struct bus_settings {
    std::size_t events = 2'000'000;
    std::size_t aggregates = 10'000;
    std::size_t threads = 2;
    std::size_t producers = 2;  // publishing coroutines on the bus's own pool
    std::size_t max_queued = 65'536;
    std::size_t latency_cascades = 200'000;
    std::size_t latency_in_flight = 64;
    std::size_t repeats = 3;  // throughput runs, each against a baseline run; the median is reported
};

[[nodiscard]] double seconds_between(clock::time_point from, clock::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}

struct throughput_result {
    double per_second = 0;
    std::uint64_t events = 0;
    std::uint64_t allocations = 0;     // heap allocations from the first submit until idle
    latency_recorder sampled_latency;  // submit to done, every 256th cascade
};

/// 'events' Tick events over 'aggregates' keys (round robin), one trivial coroutine handler each,
/// published by 'producers' coroutines on the bus's own pool; every 256th cascade is observed
/// from submission to outcome.
[[nodiscard]] throughput_result run_bus_throughput(const bus_settings& s) {
    bus bus{{.threads = s.threads, .max_queued = s.max_queued}};
    // Trivial indeed: no shared counter (it would put a contended cache line into every handler);
    // the bus counts what it handled.
    bus.subscribe<tick>("noop", [](const tick&, context&) -> asio::awaitable<void> { co_return; });
    const auto keys = make_keys(s.aggregates);

    std::mutex latency_mutex;
    throughput_result result;
    result.sampled_latency.reserve(s.events / 256 + 1);

    const auto producers = std::max<std::size_t>(1, s.producers);
    // Producers use try_submit and wait only when refused: the cheapest way in, as documented.
    auto produce = [&](std::size_t first) -> asio::awaitable<void> {
        for (std::size_t i = first; i < s.events; i += producers) {
            const any_message msg{tick{.key = keys[i % keys.size()], .seq = i}};
            cascade_observer observer;
            if (i % 256 == 0) {
                observer.on_done = [&, submitted = clock::now()](const outcome&) {
                    const std::scoped_lock lock{latency_mutex};
                    result.sampled_latency.add(clock::now() - submitted);
                };
            }
            while (!bus.try_submit(msg, observer)) {
                co_await bus.wait_for_room();
            }
        }
    };

    const auto allocations_before = allocation_snapshot();
    const auto started = clock::now();
    std::vector<std::future<void>> running;
    for (std::size_t p = 0; p < producers; ++p) {
        running.push_back(asio::co_spawn(bus.executor(), produce(p), asio::use_future));
    }
    {
        const progress_line progress{"bus", "events", [&bus] { return bus.metrics().handled; }};
        for (auto& producer : running) {
            producer.get();
        }
        if (!bus.wait_idle(std::chrono::minutes{10})) {
            std::fprintf(stderr, "bus did not go idle\n");
        }
    }
    const auto elapsed = seconds_between(started, clock::now());
    result.allocations = (allocation_snapshot() - allocations_before).allocations;
    const auto handled = bus.metrics().handled;
    result.events = handled;
    if (handled != s.events) {
        std::fprintf(stderr, "bus handled %llu events of %zu\n", static_cast<unsigned long long>(handled), s.events);
    }
    result.per_second = static_cast<double>(handled) / elapsed;
    return result;
}

/// The same work as plain posts onto one strand per aggregate: the floor of what Asio can do.
[[nodiscard]] throughput_result run_strand_baseline(const bus_settings& s) {
    asio::thread_pool pool{s.threads};
    using strand_type = asio::strand<asio::thread_pool::executor_type>;
    std::vector<strand_type> strands;
    strands.reserve(s.aggregates);
    for (std::size_t i = 0; i < s.aggregates; ++i) {
        strands.push_back(asio::make_strand(pool.get_executor()));
    }
    const auto allocations_before = allocation_snapshot();
    const auto started = clock::now();
    for (std::size_t i = 0; i < s.events; ++i) {
        asio::post(strands[i % strands.size()], [] {});
    }
    pool.join();  // returns once every posted handler has run
    throughput_result result;
    result.per_second = static_cast<double>(s.events) / seconds_between(started, clock::now());
    result.allocations = (allocation_snapshot() - allocations_before).allocations;
    result.events = s.events;
    return result;
}

/// Cascade latency at a steady load: 'in_flight' coroutines each submit and await the outcome.
[[nodiscard]] latency_recorder run_bus_latency(const bus_settings& s, double& per_second) {
    bus bus{{.threads = s.threads, .max_queued = s.max_queued}};
    bus.subscribe<tick>("noop", [](const tick&, context&) -> asio::awaitable<void> { co_return; });
    const auto keys = make_keys(s.aggregates);
    const std::size_t per_submitter = s.latency_cascades / s.latency_in_flight;

    std::vector<latency_recorder> recorders(s.latency_in_flight);
    std::vector<std::future<void>> submitters;
    const auto started = clock::now();
    for (std::size_t w = 0; w < s.latency_in_flight; ++w) {
        submitters.push_back(asio::co_spawn(
            bus.executor(),
            [&, w]() -> asio::awaitable<void> {
                recorders[w].reserve(per_submitter);
                for (std::size_t i = 0; i < per_submitter; ++i) {
                    any_message msg{tick{.key = keys[(w * per_submitter + i) % keys.size()], .seq = i}};
                    const auto submitted = clock::now();
                    (void)co_await bus.submit(std::move(msg));
                    recorders[w].add(clock::now() - submitted);
                }
            },
            asio::use_future));
    }
    for (auto& f : submitters) {
        f.get();
    }
    per_second = static_cast<double>(per_submitter * s.latency_in_flight) / seconds_between(started, clock::now());
    latency_recorder all;
    for (const auto& r : recorders) {
        all.merge(r);
    }
    return all;
}

[[nodiscard]] double median_of(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

/// "3.41 M/s (3.02 M/s to 3.60 M/s over 3 runs)": the median, then the range.
[[nodiscard]] std::string median_and_range(const std::vector<double>& rates) {
    const auto median = format_rate(median_of(rates));
    if (rates.size() == 1) {
        return median;
    }
    const auto [low, high] = std::minmax_element(rates.begin(), rates.end());
    return median + " (" + format_rate(*low) + " to " + format_rate(*high) + " over " + std::to_string(rates.size()) +
           " runs)";
}

/// Allocations per event over every run: allocations are counted, not timed, so no median.
[[nodiscard]] double allocations_per_event(const std::vector<throughput_result>& runs) {
    std::uint64_t allocations = 0;
    std::uint64_t events = 0;
    for (const auto& r : runs) {
        allocations += r.allocations;
        events += r.events;
    }
    return events == 0 ? 0 : static_cast<double>(allocations) / static_cast<double>(events);
}

void print_allocations(report& out, std::string_view label, double per_event) {
    char text[32];
    std::snprintf(text, sizeof text, "%.2f", per_event);
    out.row(label, text, {{.name = "allocations_per_event", .value = per_event, .unit = "count"}});
}

void print_queued_memory(report& out, std::string_view label, const queued_memory& m) {
    char text[96];
    std::snprintf(text, sizeof text, "%.0f B (%zu queued)", m.bytes_per_message, m.queued);
    out.row(label, text,
            {{.name = "bytes_per_queued_message", .value = m.bytes_per_message, .unit = "B"},
             {.name = "queued", .value = static_cast<double>(m.queued), .unit = "count"}});
}

/// What median_and_range shows: the median, then the range when there was more than one run.
[[nodiscard]] std::vector<figure> rate_figures(const std::string& what, const std::vector<double>& rates) {
    std::vector<figure> shown{{.name = what + "_per_second", .value = median_of(rates), .unit = "1/s"}};
    if (rates.size() > 1) {
        const auto [low, high] = std::minmax_element(rates.begin(), rates.end());
        shown.push_back({.name = what + "_per_second_min", .value = *low, .unit = "1/s"});
        shown.push_back({.name = what + "_per_second_max", .value = *high, .unit = "1/s"});
    }
    return shown;
}

int run_bus(const bus_settings& s, report& out) {
    std::printf("bus: %zu events over %zu aggregates, one trivial coroutine handler each, %zu threads, %zu producers\n",
                s.events, s.aggregates, s.threads, s.producers);
    // Bus and baseline runs alternate, so that a slow spell of a shared machine hits both.
    std::vector<double> bus_rates;
    std::vector<double> baseline_rates;
    std::vector<throughput_result> bus_runs;
    std::vector<throughput_result> baseline_runs;
    latency_recorder flooded_latency;
    for (std::size_t run = 0; run < std::max<std::size_t>(1, s.repeats); ++run) {
        auto bus_result = run_bus_throughput(s);
        bus_rates.push_back(bus_result.per_second);
        flooded_latency.merge(bus_result.sampled_latency);
        bus_runs.push_back(std::move(bus_result));
        baseline_runs.push_back(run_strand_baseline(s));
        baseline_rates.push_back(baseline_runs.back().per_second);
    }
    // Held at a gate, filled to the bound: what a queued message costs in memory.
    const auto bus_queued = measure_bus_queued_memory(s.threads, s.aggregates, s.max_queued);
    const auto strand_queued = measure_strand_queued_memory(s.threads, s.aggregates, s.max_queued);
    {
        const auto scope = out.with({{"series", "cascade"}, {"run", "throughput"}});
        out.row("cascade bus, handled events", median_and_range(bus_rates), rate_figures("events", bus_rates));
        out.duration("  latency p50 (flooded queue)", "latency_p50", flooded_latency.percentile(0.50));
        out.duration("  latency p99 (flooded queue)", "latency_p99", flooded_latency.percentile(0.99));
        print_allocations(out, "  allocations per event", allocations_per_event(bus_runs));
        print_queued_memory(out, "  heap per queued message", bus_queued);
        out.mebibytes("  peak memory (process)", "peak_memory", peak_rss_mib());
    }
    {
        const auto scope = out.with({{"series", "baseline"}, {"run", "throughput"}});
        out.row("baseline: posts onto strands", median_and_range(baseline_rates),
                rate_figures("events", baseline_rates));
        print_allocations(out, "  allocations per event", allocations_per_event(baseline_runs));
        print_queued_memory(out, "  heap per queued handler", strand_queued);
    }
    const double ratio = median_of(bus_rates) / median_of(baseline_rates);
    out.row("bus / baseline (medians)", std::to_string(ratio).substr(0, 4) + "x",
            {{.name = "bus_over_baseline", .value = ratio, .unit = "x"}});

    double latency_rate = 0;
    auto latency = run_bus_latency(s, latency_rate);
    std::printf("bus latency: %zu cascades, %zu submitters awaiting each outcome\n", s.latency_cascades,
                s.latency_in_flight);
    const auto scope = out.with({{"series", "cascade"}, {"run", "latency"}});
    out.rate("cascades", "cascades_per_second", latency_rate);
    out.duration("latency p50", "latency_p50", latency.percentile(0.50));
    out.duration("latency p99", "latency_p99", latency.percentile(0.99));
    out.duration("latency p99.9", "latency_p99_9", latency.percentile(0.999));
    out.mebibytes("peak memory (process)", "peak_memory", peak_rss_mib());
    return 0;
}

bus_settings& shared_settings() {
    static bus_settings settings;
    return settings;
}

}  // namespace

void add_bus_scenarios(CLI::App& app, report& out) {
    auto& s = shared_settings();
    auto* cmd = app.add_subcommand("bus", "bus throughput against a strand baseline, and cascade latency");
    cmd->add_option("--events", s.events, "events published in the throughput run")->capture_default_str();
    cmd->add_option("--aggregates", s.aggregates, "distinct aggregate keys")->capture_default_str();
    cmd->add_option("--threads", s.threads, "bus pool threads")->capture_default_str();
    cmd->add_option("--producers", s.producers, "publishing coroutines on the pool")->capture_default_str();
    cmd->add_option("--max-queued", s.max_queued, "bus queue bound")->capture_default_str();
    cmd->add_option("--repeats", s.repeats, "throughput runs (bus and baseline alternating); medians are printed")
        ->capture_default_str();
    cmd->add_option("--latency-cascades", s.latency_cascades, "cascades in the latency run")->capture_default_str();
    cmd->add_option("--latency-in-flight", s.latency_in_flight, "concurrent submitters in the latency run")
        ->capture_default_str();
    cmd->callback([&s, &out] { (void)run_bus(s, out); });
}

int run_default_scenarios(report& out) {
    // Two scenarios' figures in one report: each says which it is.
    const int bus_status = [&] {
        const auto scope = out.with({{"scenario", "bus"}});
        return run_bus(shared_settings(), out);
    }();
    const int allocation_status = [&] {
        const auto scope = out.with({{"scenario", "allocation"}});
        return run_allocation_scenario_defaults(out);
    }();
    return bus_status != 0 ? bus_status : allocation_status;
}

}  // namespace cascade::bench
