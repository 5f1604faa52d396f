#pragma once
// A token bucket: what bounds one connection's submit rate. Internal: include only from server/src.

#include <algorithm>
#include <chrono>
#include <cmath>

namespace gateway {

/// `rate` tokens a second, at most `burst` saved up; starts full. Not thread-safe: one session's
/// reads use it, one after another.
class token_bucket {
public:
    using clock = std::chrono::steady_clock;

    /// A rate that is not a positive finite number means no limit; a burst under 1 (or not a
    /// number) is 1.
    token_bucket(double rate, double burst, clock::time_point now = clock::now()) noexcept
        : rate_{std::isfinite(rate) && rate > 0 ? rate : 0.0},
          burst_{std::isfinite(burst) ? std::clamp(burst, 1.0, max_burst) : 1.0},
          tokens_{burst_},
          refilled_{now} {}

    /// Takes one token: zero when there was one, else how long until there is one (nothing taken).
    /// Without a limit it reads no clock: this runs for every submit.
    [[nodiscard]] clock::duration take() noexcept { return rate_ <= 0 ? clock::duration::zero() : take(clock::now()); }

    /// take() at `now`.
    [[nodiscard]] clock::duration take(clock::time_point now) noexcept {
        if (rate_ <= 0) {
            return clock::duration::zero();  // no limit
        }
        const std::chrono::duration<double> elapsed = now - refilled_;
        tokens_ = std::min(burst_, tokens_ + elapsed.count() * rate_);
        refilled_ = now;
        if (tokens_ >= 1) {
            tokens_ -= 1;
            return clock::duration::zero();
        }
        // Capped, so that a tiny rate cannot overflow the conversion.
        const std::chrono::duration<double> wait{std::min((1 - tokens_) / rate_, max_wait.count())};
        return std::max(std::chrono::ceil<clock::duration>(wait), clock::duration{1});
    }

private:
    static constexpr double max_burst = 1e9;
    static constexpr std::chrono::duration<double> max_wait{3600.0};

    double rate_;
    double burst_;
    double tokens_;
    clock::time_point refilled_;
};

}  // namespace gateway
