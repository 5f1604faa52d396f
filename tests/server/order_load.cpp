#include "order_load.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <thread>

namespace server_test {

void create_batches(std::uint16_t port, std::size_t skus) {
    ws_client setup{port};
    for (std::size_t i = 0; i < skus; ++i) {
        const auto frames = submit_and_collect(setup, "b" + std::to_string(i), "BatchCreated",
                                               {{"ref", "batch-" + std::to_string(i)},
                                                {"sku", "SKU-" + std::to_string(i)},
                                                {"qty", 1'000'000},
                                                {"eta", nullptr}});
        if (frames.empty() || frames.back()["type"] != "done") {
            throw std::runtime_error{"BatchCreated did not complete"};
        }
    }
}

void load_orders(std::uint16_t port, const std::string& prefix, std::size_t index, std::size_t window, std::size_t skus,
                 std::atomic<std::size_t>& done_total, order_load_report& report) {
    try {
        ws_client client{port};
        std::size_t in_flight = 0;
        std::size_t next = 0;
        bool refused = false;
        for (;;) {
            while (!refused && in_flight < window) {
                const auto id = prefix + std::to_string(index) + "-" + std::to_string(next);
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

killed_load load_and_kill(std::uint16_t port, const std::string& prefix, std::size_t connections, std::size_t window,
                          std::size_t skus, const std::function<bool(std::size_t)>& mid_flight,
                          const std::function<void()>& kill, const std::function<void()>& beside) {
    killed_load result{.reports = std::vector<order_load_report>(connections), .came_mid_flight = false};
    std::atomic<std::size_t> done_total{0};
    std::vector<std::thread> clients;
    for (std::size_t i = 0; i < connections; ++i) {
        clients.emplace_back([&, i] { load_orders(port, prefix, i, window, skus, done_total, result.reports[i]); });
    }
    if (beside) {
        clients.emplace_back(beside);
    }
    result.came_mid_flight = eventually_true([&] { return mid_flight(done_total.load()); });
    kill();
    for (auto& client : clients) {
        client.join();
    }
    return result;
}

std::set<std::string> committed_orders(const std::string& db) {
    SQLite::Database database{db, SQLite::OPEN_READONLY};
    SQLite::Statement query{database, "SELECT orderid FROM allocations"};
    std::set<std::string> orders;
    while (query.executeStep()) {
        orders.insert(query.getColumn(0).getString());
    }
    return orders;
}

}  // namespace server_test
