#pragma once
// The gateway's own counters, and the Prometheus text exposition of them with the bus's.

#include "cascade/metrics.hpp"
#include "gateway/protocol.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace gateway {

/// Counters updated from any thread (relaxed atomics: they are statistics, not synchronisation).
class gateway_metrics {
public:
    using counter = std::atomic<std::uint64_t>;

    counter connections_opened{};  ///< WebSocket sessions that completed the handshake
    counter connections_closed{};  ///< of those, the ones that ended
    counter http_requests{};       ///< HTTP requests answered (upgrades excluded)
    counter frames_in{};
    counter frames_out{};
    counter bytes_in{};
    counter bytes_out{};
    counter slow_consumers{};  ///< sessions disconnected with 4008
    // Connections refused before any protocol: each a limit of server_options.
    counter refused_upgrades{};        ///< upgrades answered 503: max_connections sessions are open
    counter oversized_headers{};       ///< requests answered 431
    counter oversized_bodies{};        ///< requests answered 413
    counter request_timeouts{};        ///< connections that sent no complete request within http_timeout
    counter tls_handshake_failures{};  ///< connections to a TLS port whose handshake failed

    /// Counts one error frame (or HTTP error) for `code`.
    void count_refusal(protocol::refusal code) noexcept {
        refusals_[static_cast<std::size_t>(code)].fetch_add(1, std::memory_order_relaxed);
    }
    [[nodiscard]] std::uint64_t refusals(protocol::refusal code) const noexcept {
        return refusals_[static_cast<std::size_t>(code)].load(std::memory_order_relaxed);
    }

    static void add(counter& c, std::uint64_t n = 1) noexcept { c.fetch_add(n, std::memory_order_relaxed); }
    [[nodiscard]] static std::uint64_t read(const counter& c) noexcept { return c.load(std::memory_order_relaxed); }

private:
    std::array<counter, protocol::all_refusals.size()> refusals_{};
};

/// The Prometheus text format (version 0.0.4) of the bus's and the gateway's counters,
/// plus this process's peak resident memory.
[[nodiscard]] std::string format_prometheus(const cascade::metrics_snapshot& bus, const gateway_metrics& gateway);

}  // namespace gateway
