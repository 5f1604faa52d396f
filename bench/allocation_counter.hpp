#pragma once
// Heap allocations made by this process, counted by the replaced global operator new and delete
// (allocation_counter.cpp). Each thread counts into a slot of its own, so counting adds no
// contended cache line to the run it measures; a snapshot sums the slots.

#include <cstdint>

namespace cascade::bench {

/// Totals over every thread since the process started. Bytes are the allocator's usable sizes,
/// and only counted while a byte_tracking lives.
struct allocation_totals {
    std::uint64_t allocations = 0;  ///< operator new (every form) and aligned_alloc calls
    std::uint64_t bytes_allocated = 0;
    std::uint64_t bytes_freed = 0;  ///< through operator delete only: see byte_tracking

    /// Bytes allocated minus bytes freed.
    [[nodiscard]] std::int64_t net_bytes() const noexcept {
        return static_cast<std::int64_t>(bytes_allocated) - static_cast<std::int64_t>(bytes_freed);
    }
};

/// `later` minus `earlier`: what happened between two snapshots.
[[nodiscard]] allocation_totals operator-(const allocation_totals& later, const allocation_totals& earlier) noexcept;

/// The totals now, summed over every thread's slot (relaxed reads: a snapshot of a running
/// process is approximate by nature; take it when the run has settled).
[[nodiscard]] allocation_totals allocation_snapshot() noexcept;

/// While one lives, allocations and frees also count their bytes (a malloc_usable_size call
/// each, so throughput runs leave it off). Asio takes its handler memory from aligned_alloc and
/// returns it with free(), which is not replaced: a window that measures net bytes must be one
/// in which no handler runs (a gated bus), or the bytes Asio frees are missed.
class byte_tracking {
public:
    byte_tracking() noexcept;
    ~byte_tracking();
    byte_tracking(const byte_tracking&) = delete;
    byte_tracking& operator=(const byte_tracking&) = delete;
};

}  // namespace cascade::bench
