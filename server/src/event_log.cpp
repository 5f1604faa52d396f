#include "gateway/event_log.hpp"

#include <algorithm>
#include <utility>

namespace gateway {

namespace {

std::size_t weight(const logged_event& event) noexcept {
    return event.body.size() + event.name.size() + event.aggregate.size();
}

}  // namespace

std::uint64_t event_log::append(std::string_view name, std::string_view aggregate, std::string body,
                                clock::time_point at) {
    events_.push_back({.seq = ++last_seq_,
                       .at = at,
                       .name = std::string{name},
                       .aggregate = std::string{aggregate},
                       .body = std::move(body)});
    bytes_ += weight(events_.back());
    while (!events_.empty() && (events_.size() > retention_.max_events || bytes_ > retention_.max_bytes)) {
        drop_oldest();
    }
    expire(at);
    return last_seq_;
}

void event_log::drop_oldest() noexcept {
    bytes_ -= weight(events_.front());
    events_.pop_front();
}

void event_log::expire(clock::time_point now) {
    const auto cutoff = now - retention_.max_age;
    // Collection times rise with seq (bus threads may disagree by a little, which only keeps an
    // event a little longer), so the old ones are at the front.
    while (!events_.empty() && events_.front().at < cutoff) {
        drop_oldest();
    }
}

std::deque<logged_event>::const_iterator event_log::from(std::uint64_t seq) const noexcept {
    const auto skip = std::clamp(seq, oldest_seq(), last_seq_ + 1) - oldest_seq();
    return events_.begin() + static_cast<std::ptrdiff_t>(skip);
}

std::uint64_t new_epoch() noexcept {
    const auto since_1970 = event_log::clock::now().time_since_epoch();
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(since_1970).count());
}

}  // namespace gateway
