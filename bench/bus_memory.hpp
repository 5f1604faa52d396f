#pragma once
// Heap bytes per queued message: the bus, and a strand per aggregate, each filled to the queue
// bound while its threads are held at a gate, so that what is measured stays queued.

#include <cstddef>

namespace cascade::bench {

/// What one queued-memory run measured.
struct queued_memory {
    std::size_t queued = 0;        ///< messages (or handlers) queued when measured
    double bytes_per_message = 0;  ///< heap bytes allocated minus freed while queuing, per message
};

/// Submits Tick events round robin over `aggregates` keys with try_submit until the bus refuses
/// one (`max_queued`), its `threads` held by a handler that blocks until the measurement is done.
[[nodiscard]] queued_memory measure_bus_queued_memory(std::size_t threads, std::size_t aggregates,
                                                      std::size_t max_queued);

/// The strand baseline's equivalent: `count` empty handlers posted round robin onto `aggregates`
/// strands (made inside the window, as the bus makes its lanes), the pool's threads held.
[[nodiscard]] queued_memory measure_strand_queued_memory(std::size_t threads, std::size_t aggregates,
                                                         std::size_t count);

}  // namespace cascade::bench
