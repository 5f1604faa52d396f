#pragma once
// The clock of envelope timestamps. Internal: include only from lib/cascade/src.

#include <chrono>
#include <ctime>

namespace cascade::detail {

/// Envelope timestamps are for people and logs: the coarse clock (a few ms) is plenty, and it
/// costs a fraction of a precise read on the hot path.
[[nodiscard]] inline std::chrono::system_clock::time_point coarse_now() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return std::chrono::system_clock::time_point{std::chrono::duration_cast<std::chrono::system_clock::duration>(
        std::chrono::seconds{ts.tv_sec} + std::chrono::nanoseconds{ts.tv_nsec})};
}

}  // namespace cascade::detail
