#pragma once
// The bus's counters, sharded by thread. Internal: include only from lib/cascade/src.

#include "cascade/metrics.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace cascade::detail {

/// One thread's share of the counters. Each thread writes its own cache line, so counting costs
/// no contention; a snapshot sums the shards and is only approximately consistent.
struct alignas(64) counter_shard {
    std::atomic<std::uint64_t> submitted{0};
    std::atomic<std::uint64_t> handled{0};
    std::atomic<std::uint64_t> failed{0};
    std::atomic<std::uint64_t> retried{0};
    std::atomic<std::uint64_t> dead_lettered{0};
    std::atomic<std::uint64_t> unhandled{0};
    std::atomic<std::uint64_t> dropped{0};
    std::atomic<std::uint64_t> recovered{0};
    std::atomic<std::uint64_t> replayed{0};
    std::atomic<std::uint64_t> redelivered{0};
    std::array<std::atomic<std::uint64_t>, latency_histogram::bounds_us.size() + 1> latency_buckets{};
    std::atomic<std::int64_t> latency_sum_ns{0};

    void observe_latency(std::chrono::nanoseconds elapsed) noexcept;
    static void add(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) noexcept {
        counter.fetch_add(n, std::memory_order_relaxed);
    }
};

class counters {
public:
    /// The calling thread's shard.
    [[nodiscard]] counter_shard& local() noexcept;
    [[nodiscard]] metrics_snapshot snapshot() const;

private:
    static constexpr std::size_t shard_count = 16;
    std::array<counter_shard, shard_count> shards_;
};

}  // namespace cascade::detail
