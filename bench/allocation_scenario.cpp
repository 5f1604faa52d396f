// The allocation scenario: AllocationRequired driven through the bus with a fixed number in
// flight, on each store, beside the same allocations made by direct synchronous calls (what the
// book's bus amounts to).
#include "progress.hpp"
#include "report.hpp"
#include "scenarios.hpp"

#include <allocation/bootstrap.hpp>
#include <allocation/memory_store.hpp>
#include <allocation/messages.hpp>
#include <allocation/sqlite_store.hpp>
#include <allocation/unit_of_work.hpp>
#include <cascade/bus.hpp>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <future>
#include <string>
#include <unistd.h>
#include <vector>

namespace cascade::bench {
namespace {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

struct allocation_settings {
    std::size_t skus = 100;
    std::size_t commands = 10'000;
    std::size_t in_flight = 64;
    std::size_t threads = 2;
    std::string sync = "normal";  ///< the SQLite store's: normal or full
    /// When set, each run lasts this many seconds instead of `commands`, and reports its rate by window.
    unsigned seconds = 0;
    unsigned window_seconds = 5;

    [[nodiscard]] bool timed() const noexcept { return seconds > 0; }
    [[nodiscard]] std::chrono::seconds duration() const noexcept { return std::chrono::seconds{seconds}; }
    [[nodiscard]] std::chrono::seconds window() const noexcept { return std::chrono::seconds{window_seconds}; }
    [[nodiscard]] std::size_t whole_windows() const noexcept { return seconds / window_seconds; }
};

/// Completions counted by the window of the run they fall in, for a rate over time.
class windowed_rate {
public:
    windowed_rate(const allocation_settings& s, std::chrono::steady_clock::time_point started)
        : started_{started}, window_{s.window()}, counts_(s.timed() ? s.whole_windows() + 1 : 0) {}

    void add(std::chrono::steady_clock::time_point at) noexcept {
        const auto index = static_cast<std::size_t>((at - started_) / window_);
        if (index < counts_.size()) {
            counts_[index].fetch_add(1, std::memory_order_relaxed);
        }
    }

    /// The rate in every whole window, oldest first.
    [[nodiscard]] std::vector<double> rates(std::size_t whole_windows) const {
        std::vector<double> out;
        for (std::size_t i = 0; i < whole_windows && i < counts_.size(); ++i) {
            out.push_back(static_cast<double>(counts_[i].load()) / std::chrono::duration<double>(window_).count());
        }
        return out;
    }

private:
    std::chrono::steady_clock::time_point started_;
    std::chrono::seconds window_;
    std::vector<std::atomic<std::size_t>> counts_;
};

/// Every line fits: the scenario measures allocation, not notification.
class null_notifications final : public allocation::notifications {
public:
    void send(std::string_view, std::string_view) override {}
};

/// A database file in the temp directory, removed with its WAL companions.
class scratch_database {
public:
    explicit scratch_database(std::string_view label)
        : path_{std::filesystem::temp_directory_path() /
                ("cascade-bench-" + std::string{label} + "-" + std::to_string(::getpid()) + ".db")} {
        remove_files();
    }
    ~scratch_database() { remove_files(); }
    scratch_database(const scratch_database&) = delete;
    scratch_database& operator=(const scratch_database&) = delete;
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

private:
    void remove_files() const noexcept {
        std::error_code ignored;
        for (const char* suffix : {"", "-wal", "-shm"}) {
            std::filesystem::remove(path_.string() + suffix, ignored);
        }
    }
    std::filesystem::path path_;
};

struct run_result {
    double per_second = 0;
    latency_recorder latency;
    std::size_t failed = 0;
    std::vector<double> window_rates;  ///< timed runs only
};

/// Whether command `i` is still to be run: within the count, or before the deadline.
[[nodiscard]] bool keep_going(std::size_t i, const allocation_settings& s, clock::time_point deadline) {
    return s.timed() ? clock::now() < deadline : i < s.commands;
}

[[nodiscard]] allocation::sqlite_sync sync_of(const allocation_settings& s) {
    return s.sync == "full" ? allocation::sqlite_sync::full : allocation::sqlite_sync::normal;
}

[[nodiscard]] std::string sku_of(std::size_t i, const allocation_settings& s) {
    return "SKU-" + std::to_string(i % s.skus);
}

[[nodiscard]] allocation::order_line line_of(std::size_t i, const allocation_settings& s) {
    return {"order-" + std::to_string(i), sku_of(i, s), 1};
}

/// Per SKU: a shipment (to be passed over) and an in-stock batch that holds every line.
[[nodiscard]] std::vector<allocation::batch_created> batches_for(const allocation_settings& s) {
    const int per_sku = s.timed() ? 1'000'000'000 : static_cast<int>(s.commands / s.skus + 1);
    const std::chrono::year_month_day eta{std::chrono::year{2030}, std::chrono::January, std::chrono::day{1}};
    std::vector<allocation::batch_created> batches;
    for (std::size_t k = 0; k < s.skus; ++k) {
        const auto sku = sku_of(k, s);
        batches.push_back({sku + "-shipment", sku, per_sku, eta});
        batches.push_back({sku + "-stock", sku, per_sku, std::nullopt});
    }
    return batches;
}

[[nodiscard]] double seconds_since(clock::time_point from) {
    return std::chrono::duration<double>(clock::now() - from).count();
}

/// How a SQLite run keeps its journal.
enum class journaling : std::uint8_t {
    group_commit,       ///< acks after a shared commit of many records
    commit_per_record,  ///< one transaction per journal record
    none,               ///< no journal: acks mean "in memory", as the memory store's
};

/// `in_flight` coroutines on the bus's pool, each submitting and awaiting one command at a time.
[[nodiscard]] run_result run_through_bus(allocation::store_kind kind, const allocation_settings& s,
                                         journaling journal = journaling::group_commit) {
    const scratch_database db{"allocation"};
    bus bus{{.threads = s.threads}};
    const auto app =
        allocation::bootstrap(bus, {.store = kind,
                                    .db_path = db.path(),
                                    .sync = sync_of(s),
                                    .notifier = std::make_shared<null_notifications>(),
                                    .journal = journal != journaling::none,
                                    .group_commit_records = journal == journaling::commit_per_record ? 1U : 1024U});
    for (auto& created : batches_for(s)) {
        (void)bus.async_submit(any_message{std::move(created)}, asio::use_future).get();
    }

    std::atomic<std::size_t> next{0};
    std::atomic<std::size_t> failed{0};
    std::vector<latency_recorder> recorders(s.in_flight);
    std::vector<std::future<void>> submitters;
    const auto started = clock::now();
    const auto deadline = started + s.duration();
    windowed_rate windows{s, started};
    for (std::size_t w = 0; w < s.in_flight; ++w) {
        submitters.push_back(asio::co_spawn(
            bus.executor(),
            [&, w]() -> asio::awaitable<void> {
                for (auto i = next++; keep_going(i, s, deadline); i = next++) {
                    auto line = line_of(i, s);
                    // A named message: GCC 12 may destroy temporaries built inside a co_await twice.
                    any_message msg{
                        allocation::allocation_required{std::move(line.orderid), std::move(line.sku), line.qty}};
                    const auto submitted = clock::now();
                    const auto result = co_await bus.submit(std::move(msg));
                    const auto finished = clock::now();
                    recorders[w].add(finished - submitted);
                    windows.add(finished);
                    if (result.status != cascade_status::ok || !result.result.is_string()) {
                        failed.fetch_add(1, std::memory_order_relaxed);
                    }
                }
            },
            asio::use_future));
    }
    {
        const progress_line progress{"allocation", "commands",
                                     [&next] { return next.load(std::memory_order_relaxed); }};
        for (auto& submitter : submitters) {
            submitter.get();
        }
    }
    run_result result;
    const auto completed = s.timed() ? next.load() - s.in_flight : s.commands;  // each ended on one extra draw
    result.per_second = static_cast<double>(completed) / seconds_since(started);
    result.window_rates = windows.rates(s.whole_windows());
    (void)bus.wait_idle(std::chrono::minutes{1});
    for (const auto& recorder : recorders) {
        result.latency.merge(recorder);
    }
    result.failed = failed.load();
    return result;
}

/// The same allocations (and read-model rows) as direct calls on one thread: no bus at all.
[[nodiscard]] run_result run_direct(allocation::store_kind kind, const allocation_settings& s) {
    const scratch_database db{"allocation-direct"};
    const auto storage = allocation::make_store(kind, db.path(), sync_of(s));
    for (const auto& created : batches_for(s)) {
        allocation::unit_of_work uow{*storage};
        allocation::product* p = uow.products().get(created.sku);
        if (p == nullptr) {
            p = &uow.products().add(allocation::product{created.sku});
        }
        p->add_batch({created.ref, created.sku, created.qty, created.eta});
        uow.commit();
    }
    run_result result;
    result.latency.reserve(s.commands);
    const auto started = clock::now();
    const auto deadline = started + s.duration();
    windowed_rate windows{s, started};
    std::size_t i = 0;
    for (; keep_going(i, s, deadline); ++i) {
        const auto line = line_of(i, s);
        const auto call_started = clock::now();
        allocation::unit_of_work uow{*storage};
        const auto batchref = uow.products().get(line.sku)->allocate(line);
        uow.commit();  // writes the allocations view too
        if (!batchref) {
            ++result.failed;
        }
        const auto finished = clock::now();
        result.latency.add(finished - call_started);
        windows.add(finished);
    }
    result.per_second = static_cast<double>(i) / seconds_since(started);
    result.window_rates = windows.rates(s.whole_windows());
    return result;
}

/// One run's rows; `attributes` say which run it was (series, store, path, journal).
void print(report& out, std::string_view label, run_result& r, nlohmann::ordered_json attributes) {
    const auto scope = out.with(std::move(attributes));
    out.rate(label, "commands_per_second", r.per_second, "commands");
    out.duration("  latency p50", "latency_p50", r.latency.percentile(0.50));
    out.duration("  latency p99", "latency_p99", r.latency.percentile(0.99));
    if (!r.window_rates.empty()) {
        std::string by_window;
        std::vector<figure> windows;
        for (const double rate : r.window_rates) {
            by_window += (by_window.empty() ? "" : ", ") + format_rate(rate);
            windows.push_back({.name = "window_" + std::to_string(windows.size() + 1) + "_commands_per_second",
                               .value = rate,
                               .unit = "1/s"});
        }
        out.row("  by window", by_window, windows);
        const double ratio = r.window_rates.back() / r.window_rates.front();
        char text[32];
        std::snprintf(text, sizeof text, "%.2fx", ratio);
        out.row("  last window / first", text, {{.name = "last_window_over_first", .value = ratio, .unit = "x"}});
    }
    if (r.failed != 0) {
        out.row("  FAILED or out of stock", std::to_string(r.failed),
                {{.name = "failed", .value = static_cast<double>(r.failed), .unit = "count"}});
    }
}

int run_allocation(const allocation_settings& s, report& out) {
    if (s.timed()) {
        std::printf(
            "allocation: AllocationRequired for %us over %zu SKUs, %zu in flight, %zu threads, "
            "rate by %us window\n",
            s.seconds, s.skus, s.in_flight, s.threads, s.window_seconds);
    } else {
        std::printf("allocation: %zu AllocationRequired over %zu SKUs, %zu in flight, %zu threads, SQLite sync %s\n",
                    s.commands, s.skus, s.in_flight, s.threads, s.sync.c_str());
    }
    std::size_t failed = 0;
    for (const auto kind : {allocation::store_kind::memory, allocation::store_kind::sqlite}) {
        const bool sqlite = kind == allocation::store_kind::sqlite;
        const char* store = sqlite ? "sqlite" : "memory";
        auto through_bus = run_through_bus(kind, s);
        print(out, sqlite ? "sqlite store, through the bus, durable (group commit)" : "memory store, through the bus",
              through_bus,
              sqlite ? nlohmann::ordered_json{{"series", "cascade"}, {"store", store}, {"journal", "group_commit"}}
                     : nlohmann::ordered_json{{"series", "cascade"}, {"store", store}});
        failed += through_bus.failed;
        if (sqlite) {
            auto per_record = run_through_bus(kind, s, journaling::commit_per_record);
            print(out, "sqlite, durable, one journal commit per record", per_record,
                  {{"series", "cascade"}, {"store", store}, {"journal", "commit_per_record"}});
            auto unjournaled = run_through_bus(kind, s, journaling::none);
            print(out, "sqlite, no journal (acks not durable)", unjournaled,
                  {{"series", "cascade"}, {"store", store}, {"journal", "none"}});
            failed += per_record.failed + unjournaled.failed;
        }
        auto direct = run_direct(kind, s);
        print(out, std::string{"baseline: "} + store + ", direct calls, 1 thread", direct,
              {{"series", "baseline"}, {"store", store}});
        failed += direct.failed;
    }
    out.mebibytes("peak memory (process)", "peak_memory", peak_rss_mib());
    return failed == 0 ? 0 : 1;
}

allocation_settings& shared_settings() {
    static allocation_settings settings;
    return settings;
}

}  // namespace

void add_allocation_scenario(CLI::App& app, report& out) {
    auto& s = shared_settings();
    auto* cmd = app.add_subcommand("allocation", "AllocationRequired through the bus on the memory and SQLite stores");
    cmd->add_option("--skus", s.skus, "products, one lane each")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--commands", s.commands, "AllocationRequired commands per store")->capture_default_str();
    cmd->add_option("--in-flight", s.in_flight, "concurrent submitters awaiting their outcome")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    cmd->add_option("--threads", s.threads, "bus pool threads")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--sync", s.sync, "the SQLite store's synchronous setting")
        ->capture_default_str()
        ->check(CLI::IsMember({"normal", "full"}));
    cmd->add_option("--seconds", s.seconds, "run each store this long instead of --commands, rate by window");
    cmd->add_option("--window", s.window_seconds, "the window of a timed run's rates, in seconds")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    cmd->callback([&s, &out] {
        if (run_allocation(s, out) != 0) {
            throw CLI::RuntimeError{1};
        }
    });
}

int run_allocation_scenario_defaults(report& out) {
    return run_allocation(allocation_settings{}, out);
}

}  // namespace cascade::bench
