// cascade-server as a process, on SQLite, under load, then SIGTERM with a short drain: every
// acknowledged submit gets exactly one `done` before its session closes with 1012, no `done` says
// an order failed that the store committed (or the reverse), and the process exits within its
// deadline plus the documented margin.
#include "server_process.hpp"
#include "support.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <map>
#include <set>
#include <thread>

using namespace server_test;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t skus = 50;

struct connection_report {
    std::set<std::string> acked;
    std::map<std::string, int> dones;
    std::map<std::string, json> done_frames;
    std::optional<close_info> closed;
    std::string error;
};

/// Keeps `window` AllocationRequired in flight until the server refuses, then reads until it closes.
void load(std::uint16_t port, std::size_t index, std::size_t window, std::atomic<std::size_t>& done_total,
          connection_report& report) {
    try {
        ws_client client{port};
        std::size_t in_flight = 0;
        std::size_t next = 0;
        bool refused = false;
        for (;;) {
            while (!refused && in_flight < window) {
                const auto id = "o" + std::to_string(index) + "-" + std::to_string(next);
                client.send(
                    json{{"type", "submit"},
                         {"id", id},
                         {"name", "AllocationRequired"},
                         {"data", {{"orderid", id}, {"sku", "SKU-" + std::to_string(next % skus)}, {"qty", 1}}}});
                ++next;
                ++in_flight;
            }
            auto r = client.read_any(generous);
            if (r.closed) {
                report.closed = r.closed;
                return;
            }
            if (!r.frame) {
                report.error = r.error;
                return;
            }
            const auto& frame = *r.frame;
            const auto type = frame.at("type").get<std::string>();
            if (type == "ack") {
                report.acked.insert(frame.at("re").get<std::string>());
            } else if (type == "done") {
                const auto re = frame.at("re").get<std::string>();
                ++report.dones[re];
                report.done_frames[re] = frame;
                --in_flight;
                ++done_total;
            } else if (type == "error") {
                --in_flight;
                refused = refused || frame.at("code") == "shutting_down";
            }
        }
    } catch (const std::exception& e) {
        report.error = e.what();
    }
}

[[nodiscard]] std::set<std::string> committed_orders(const std::string& db) {
    SQLite::Database database{db, SQLite::OPEN_READONLY};
    SQLite::Statement query{database, "SELECT orderid FROM allocations"};
    std::set<std::string> orders;
    while (query.executeStep()) {
        orders.insert(query.getColumn(0).getString());
    }
    return orders;
}

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
    {
        ws_client setup{server.port()};
        for (std::size_t i = 0; i < skus; ++i) {
            const auto frames = submit_and_collect(setup, "b" + std::to_string(i), "BatchCreated",
                                                   {{"ref", "batch-" + std::to_string(i)},
                                                    {"sku", "SKU-" + std::to_string(i)},
                                                    {"qty", 1'000'000},
                                                    {"eta", nullptr}});
            REQUIRE(frames.back()["type"] == "done");
        }
    }

    std::atomic<std::size_t> done_total{0};
    std::vector<connection_report> reports(connections);
    std::vector<std::thread> clients;
    for (std::size_t i = 0; i < connections; ++i) {
        clients.emplace_back([&, i] { load(server.port(), i, window, done_total, reports[i]); });
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
