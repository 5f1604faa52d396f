#include "cascade/retry.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cmath>

namespace cascade {

std::chrono::nanoseconds retry_policy::backoff(std::uint32_t failed_attempts, double unit_random) const noexcept {
    const double exponent = failed_attempts == 0 ? 0.0 : static_cast<double>(failed_attempts - 1);
    const double grown = static_cast<double>(initial_backoff.count()) * std::pow(multiplier, exponent);
    const double capped = std::min(grown, static_cast<double>(max_backoff.count()));
    const double spread = std::clamp(jitter, 0.0, 1.0) * std::clamp(unit_random, 0.0, 1.0);
    return std::chrono::nanoseconds{static_cast<std::chrono::nanoseconds::rep>(capped * (1.0 - spread))};
}

boost::asio::awaitable<void> steady_delay_timer::wait(std::chrono::nanoseconds delay) {
    boost::asio::steady_timer timer{co_await boost::asio::this_coro::executor, delay};
    co_await timer.async_wait(boost::asio::use_awaitable);
}

}  // namespace cascade
