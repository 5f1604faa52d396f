#pragma once
// A token bucket: what bounds one connection's submit rate. Internal: include only from server/src.

#include <algorithm>
#include <chrono>

namespace gateway {

/// `rate` tokens a second, at most `burst` saved up; starts full. Not thread-safe: one session's
/// reads use it, one after another.
class token_bucket {
public:
    using clock = std::chrono::steady_clock;

    token_bucket(double rate, double burst, clock::time_point now = clock::now()) noexcept
        : rate_{rate}, burst_{std::max(burst, 1.0)}, tokens_{burst_}, refilled_{now} {}

    /// Takes one token: zero when there was one, else how long until there is one (nothing taken).
    [[nodiscard]] clock::duration take(clock::time_point now = clock::now()) noexcept {
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
        const std::chrono::duration<double> wait{(1 - tokens_) / rate_};
        return std::max(std::chrono::ceil<clock::duration>(wait), clock::duration{1});
    }

private:
    double rate_;
    double burst_;
    double tokens_;
    clock::time_point refilled_;
};

}  // namespace gateway
