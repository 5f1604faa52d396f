#include "counters.hpp"

#include <algorithm>

namespace cascade::detail {

namespace {

[[nodiscard]] std::size_t bucket_of(std::chrono::nanoseconds elapsed) noexcept {
    const auto us = static_cast<std::uint64_t>(elapsed.count() / 1000);
    const auto& bounds = latency_histogram::bounds_us;
    return static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), us) - bounds.begin());
}

}  // namespace

void counter_shard::observe_latency(std::chrono::nanoseconds elapsed) noexcept {
    latency_buckets[bucket_of(elapsed)].fetch_add(1, std::memory_order_relaxed);
    latency_sum_ns.fetch_add(elapsed.count(), std::memory_order_relaxed);
}

counter_shard& counters::local() noexcept {
    static std::atomic<std::size_t> next_thread{0};
    thread_local const std::size_t index = next_thread.fetch_add(1, std::memory_order_relaxed) % shard_count;
    return shards_[index];
}

metrics_snapshot counters::snapshot() const {
    metrics_snapshot total;
    auto& histogram = total.handler_latency;
    std::int64_t latency_sum = 0;
    for (const auto& shard : shards_) {
        total.submitted += shard.submitted.load(std::memory_order_relaxed);
        total.handled += shard.handled.load(std::memory_order_relaxed);
        total.failed += shard.failed.load(std::memory_order_relaxed);
        total.retried += shard.retried.load(std::memory_order_relaxed);
        total.dead_lettered += shard.dead_lettered.load(std::memory_order_relaxed);
        total.unhandled += shard.unhandled.load(std::memory_order_relaxed);
        total.dropped += shard.dropped.load(std::memory_order_relaxed);
        total.recovered += shard.recovered.load(std::memory_order_relaxed);
        total.replayed += shard.replayed.load(std::memory_order_relaxed);
        total.redelivered += shard.redelivered.load(std::memory_order_relaxed);
        for (std::size_t i = 0; i < histogram.counts.size(); ++i) {
            const auto n = shard.latency_buckets[i].load(std::memory_order_relaxed);
            histogram.counts[i] += n;
            histogram.count += n;
        }
        latency_sum += shard.latency_sum_ns.load(std::memory_order_relaxed);
    }
    histogram.sum = std::chrono::nanoseconds{latency_sum};
    return total;
}

}  // namespace cascade::detail
