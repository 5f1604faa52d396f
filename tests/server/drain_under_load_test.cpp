// cascade-server as a process, on SQLite, under load, then SIGTERM with a short drain: every
// acknowledged submit gets exactly one `done` before its session closes with 1012, no `done` says
// an order failed that the store committed (or the reverse), and the process exits within its
// deadline plus the documented margin.
#include "order_load.hpp"
#include "server_process.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <thread>

using namespace server_test;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t skus = 50;

}  // namespace

TEST_CASE("SIGTERM under load: one done per acknowledged submit, honest outcomes, close 1012, a prompt exit",
          "[server][process][shutdown]") {
    constexpr std::size_t connections = 16;
    constexpr std::size_t window = 256;
    constexpr auto drain = 20ms;
    constexpr auto flush = 2s;
    temp_folder work;
    server_process server{work.path(),
                          {"--store", "sqlite", "--db", "orders.db", "--notifications", "notifications.log",
                           "--drain-timeout", "0.02", "--flush-timeout", "2"}};
    create_batches(server.port(), skus);

    std::atomic<std::size_t> done_total{0};
    std::vector<order_load_report> reports(connections);
    std::vector<std::thread> clients;
    for (std::size_t i = 0; i < connections; ++i) {
        clients.emplace_back([&, i] { load_orders(server.port(), "o", i, window, skus, done_total, reports[i]); });
    }
    // Under load, with every window full; a CHECK, not a REQUIRE: the clients must be joined.
    CHECK(eventually_true([&] { return done_total.load() >= 500; }));
    const auto signalled = std::chrono::steady_clock::now();
    server.signal(SIGTERM);
    for (auto& c : clients) {
        c.join();
    }
    const auto status = server.wait_exit(generous);
    const auto took = std::chrono::steady_clock::now() - signalled;
    INFO(server.log());
    REQUIRE(status.has_value());
    CHECK(*status == 0);
    // A bound, not a measurement: the documented deadline and margin, and room for a slow machine.
    CHECK(took < drain + flush + 10s);

    const auto committed = committed_orders(work.path() + "/orders.db");
    std::size_t acked = 0;
    std::size_t cancelled = 0;
    for (const auto& report : reports) {
        INFO("connection error: " << report.error);
        REQUIRE(report.closed.has_value());
        CHECK(report.closed->code == 1012);
        for (const auto& id : report.acked) {
            ++acked;
            INFO("order " << id);
            CHECK(report.dones.contains(id));
        }
        for (const auto& [id, count] : report.dones) {
            INFO("order " << id);
            CHECK(count == 1);
            CHECK(report.acked.contains(id));
            const auto& done = report.done_frames.at(id);
            const bool allocated = !done.at("result").is_null();
            const bool was_cancelled = done.at("status") == "failed" && !done.at("errors").empty() &&
                                       done.at("errors")[0].at("code") == "cancelled";
            cancelled += was_cancelled ? 1 : 0;
            // What the done says happened is what the store holds.
            CHECK(committed.contains(id) == allocated);
            CHECK_FALSE((was_cancelled && committed.contains(id)));
        }
    }
    CHECK(acked > 500);
    // Thousands were queued when the 20 ms deadline passed: some were cancelled, and said so.
    CHECK(cancelled > 0);
}
