#pragma once
// Load for the process tests: connections that keep AllocationRequired submits in flight against
// a cascade-server until it refuses or goes away, and what they saw.

#include "support.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace server_test {

/// What one loading connection saw.
struct order_load_report {
    std::set<std::string> acked;
    std::map<std::string, int> dones;
    std::map<std::string, json> done_frames;
    std::optional<close_info> closed;
    std::string error;  ///< how the connection ended when it was not closed cleanly
};

/// Creates one batch of plenty for each of `skus` SKUs ("SKU-0", ...).
void create_batches(std::uint16_t port, std::size_t skus);

/// Keeps `window` AllocationRequired in flight over `skus` SKUs, with order ids
/// "<prefix><index>-<n>", until the server refuses with shutting_down (then reads until it
/// closes) or the connection ends. Counts every `done` in `done_total`.
void load_orders(std::uint16_t port, const std::string& prefix, std::size_t index, std::size_t window, std::size_t skus,
                 std::atomic<std::size_t>& done_total, order_load_report& report);

/// What a kill under load saw: each loading connection's report, and whether the kill came
/// mid-flight (`mid_flight` held before the generous bound).
struct killed_load {
    std::vector<order_load_report> reports;
    bool came_mid_flight = false;
};

/// Runs `connections` load_orders connections (and `beside`, if set, on one more thread) against
/// the process on `port`, sends it SIGKILL through `kill` once `mid_flight(dones so far)` holds,
/// and joins them all.
[[nodiscard]] killed_load load_and_kill(std::uint16_t port, const std::string& prefix, std::size_t connections,
                                        std::size_t window, std::size_t skus,
                                        const std::function<bool(std::size_t)>& mid_flight,
                                        const std::function<void()>& kill, const std::function<void()>& beside = {});

/// The order ids the SQLite file at `db` holds allocations of.
[[nodiscard]] std::set<std::string> committed_orders(const std::string& db);

}  // namespace server_test
