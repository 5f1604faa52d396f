#pragma once
// Retry policy of an event handler, and the replaceable timer its backoff waits on.

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>

namespace cascade {

struct retry_policy {
    std::uint32_t max_attempts = 3;  ///< including the first; 1 means no retry
    std::chrono::nanoseconds initial_backoff = std::chrono::milliseconds{10};
    double multiplier = 2.0;
    std::chrono::nanoseconds max_backoff = std::chrono::seconds{1};
    double jitter = 0.2;  ///< fraction of the backoff that is randomised away, in [0, 1]

    /// The wait after `failed_attempts` failures (>= 1):
    /// min(initial * multiplier^(failed-1), max) * (1 - jitter * unit_random), unit_random in [0, 1).
    [[nodiscard]] std::chrono::nanoseconds backoff(std::uint32_t failed_attempts, double unit_random) const noexcept;

    [[nodiscard]] static retry_policy no_retry() noexcept { return {.max_attempts = 1}; }
};

/// Where retry backoffs wait. The default waits on a steady_timer; tests replace it with one
/// that records the delays and returns at once, so backoff tests take no real time.
class delay_timer {
public:
    virtual ~delay_timer() = default;
    [[nodiscard]] virtual boost::asio::awaitable<void> wait(std::chrono::nanoseconds delay) = 0;
};

class steady_delay_timer final : public delay_timer {
public:
    [[nodiscard]] boost::asio::awaitable<void> wait(std::chrono::nanoseconds delay) override;
};

}  // namespace cascade
