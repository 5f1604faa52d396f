#pragma once
// The event log: every event the live feed publishes, numbered server-wide (`seq`, from 1) and
// kept for a while, so that a subscriber can start from an offset. It lives in memory: a restart
// begins a new log with a new epoch, which tells a client that its offsets are from another log.
// Not thread-safe: the live feed owns it under the lock that also orders subscriptions joining.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

namespace gateway {

/// How much of the log is kept: an event goes once any bound passes it.
struct log_retention {
    std::size_t max_events = 100'000;
    std::chrono::seconds max_age = std::chrono::hours{1};
    /// Of the kept events' wire objects, names and aggregates: events may be large.
    std::size_t max_bytes = 256 * 1024 * 1024;
};

/// Where a reader starts in the event log.
struct log_start {
    enum class point : std::uint8_t {
        now,       ///< the next event published
        earliest,  ///< the oldest event kept
        seq,       ///< the event numbered `seq`
    };
    point from = point::now;
    std::uint64_t seq = 0;
    /// The log that `seq` belongs to; when it is not this server's log, `seq` has expired.
    std::optional<std::uint64_t> epoch;
};

/// One kept event: what subscriptions filter on, and its serialised wire object.
struct logged_event {
    std::uint64_t seq = 0;
    std::chrono::system_clock::time_point at;  ///< when it was collected
    std::string name;
    std::string aggregate;
    std::string body;
};

class event_log {
public:
    using clock = std::chrono::system_clock;

    /// `epoch` identifies this log among the server's restarts.
    event_log(log_retention retention, std::uint64_t epoch) noexcept : retention_{retention}, epoch_{epoch} {}

    /// Numbers and keeps one event collected at `at`; returns its seq. Drops what retention no
    /// longer keeps, its age measured from `at`.
    std::uint64_t append(std::string_view name, std::string_view aggregate, std::string body, clock::time_point at);
    /// Drops the events older than the age bound at `now` (appends do it too, as time goes by).
    void expire(clock::time_point now);

    [[nodiscard]] std::uint64_t epoch() const noexcept { return epoch_; }
    /// The seq of the newest event ever appended (0 before the first).
    [[nodiscard]] std::uint64_t last_seq() const noexcept { return last_seq_; }
    /// The seq of the oldest event kept; last_seq() + 1 when none is.
    [[nodiscard]] std::uint64_t oldest_seq() const noexcept { return last_seq_ + 1 - events_.size(); }

    /// The kept events from `seq` on (clamped to what is kept), oldest first.
    [[nodiscard]] std::deque<logged_event>::const_iterator from(std::uint64_t seq) const noexcept;
    [[nodiscard]] std::deque<logged_event>::const_iterator end() const noexcept { return events_.end(); }
    /// What the kept events weigh, as max_bytes counts it.
    [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }

private:
    void drop_oldest() noexcept;

    log_retention retention_;
    std::uint64_t epoch_;
    std::uint64_t last_seq_ = 0;
    std::size_t bytes_ = 0;
    std::deque<logged_event> events_;
};

/// An epoch for a log begun now: the microseconds since 1970, so later logs have larger epochs
/// (and a JSON number holds it exactly).
[[nodiscard]] std::uint64_t new_epoch() noexcept;

}  // namespace gateway
