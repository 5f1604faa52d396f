#pragma once
// The bus's counters, read by a metrics endpoint.

#include <array>
#include <chrono>
#include <cstdint>

namespace cascade {

/// Handler latency histogram with fixed bucket bounds (Prometheus style, cumulative on export).
struct latency_histogram {
    /// Upper bounds in microseconds; a last, implicit bucket holds everything slower.
    static constexpr std::array<std::uint64_t, 16> bounds_us{1,   2,    5,    10,   25,    50,    100,    250,
                                                             500, 1000, 2500, 5000, 10000, 25000, 100000, 1000000};
    std::array<std::uint64_t, bounds_us.size() + 1> counts{};  ///< per bucket, not cumulative
    std::uint64_t count{};
    std::chrono::nanoseconds sum{};

    /// The smallest bound below which `quantile` (0..1) of the observations fall, in µs.
    [[nodiscard]] std::uint64_t quantile_bound_us(double quantile) const noexcept;
};

struct metrics_snapshot {
    std::uint64_t submitted{};          ///< messages admitted from outside
    std::uint64_t handled{};            ///< handler runs that succeeded
    std::uint64_t failed{};             ///< handler attempts that threw
    std::uint64_t retried{};            ///< attempts after a failure
    std::uint64_t dead_lettered{};      ///< event deliveries given up after all attempts
    std::uint64_t unhandled{};          ///< messages that had no handler
    std::uint64_t dropped{};            ///< raised events dropped past a cascade limit
    std::uint64_t recovered{};          ///< cascades resumed from the journal at start
    std::uint64_t replayed{};           ///< handler runs found recorded on recovery, so not run again
    std::uint64_t redelivered{};        ///< recovered messages delivered to a handler that had not run them
    std::uint64_t queued{};             ///< messages queued or running now
    std::uint64_t active_lanes{};       ///< aggregates with work queued or running now
    std::uint64_t resident_lanes{};     ///< lanes in memory: the active ones plus warm ones kept for reuse
    std::uint64_t waiting{};            ///< submitters waiting for room now
    latency_histogram handler_latency;  ///< sampled: one handler run in eight is timed
};

}  // namespace cascade
