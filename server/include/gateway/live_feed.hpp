#pragma once
// The live feed: every event of every cascade that goes through the gateway is numbered in the
// event log and offered to the subscriptions whose filters match. The bus has no global tap, so
// the gateway is the tap. A subscription may start at an offset of the log: it catches up from
// the log at its own pace, then joins the live events, with no gap and no duplicate at the seam
// (one lock orders numbering, fan-out and the switch from catching up to live).

#include "cascade/envelope.hpp"
#include "gateway/event_log.hpp"
#include "gateway/outbox.hpp"
#include "gateway/subscription_index.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace gateway {

/// Which events a subscription wants; an empty list means "any".
struct feed_filter {
    std::vector<std::string> names;
    std::vector<std::string> aggregates;

    [[nodiscard]] bool matches(std::string_view name, std::string_view aggregate) const noexcept;
};

/// The answer to a subscription asking to join.
struct join_result {
    enum class verdict : std::uint8_t {
        joined,   ///< its `subscribed` frame is queued; events follow from `start_seq`
        expired,  ///< the start is older than what the log keeps (or from another log)
        ahead,    ///< the start is past the log's next seq
    };
    verdict answer = verdict::joined;
    bool live = false;             ///< joined and caught up already: no catch_up() needed
    std::uint64_t start_seq = 0;   ///< the first seq the subscription may receive
    std::uint64_t oldest_seq = 0;  ///< the oldest seq the log keeps now
    std::uint64_t last_seq = 0;    ///< the newest seq published
    std::uint64_t epoch = 0;
};

/// The event log as it stands: its epoch, the oldest seq it keeps and the newest it numbered.
struct log_bounds {
    std::uint64_t epoch = 0;
    std::uint64_t oldest_seq = 0;
    std::uint64_t last_seq = 0;
};

/// How far a catching-up subscription got in one step.
enum class catch_up_state : std::uint8_t {
    live,     ///< it reached the log's end and now takes live events
    behind,   ///< more of the log is left for the next step
    expired,  ///< retention dropped events it had not read yet: it is removed
    gone,     ///< unsubscribed, or its session's outbox is closed
};

class live_feed {
public:
    /// Receives a published event's seq and wire object before any subscription does.
    using numbered = std::function<void(std::uint64_t seq, std::string_view body)>;

    explicit live_feed(log_retention retention = {}, std::uint64_t epoch = new_epoch()) : log_{retention, epoch} {}

    /// Adds subscription `id` of the session whose outbox is `out`, starting at `start`. When it
    /// joins, its `subscribed` frame is queued before any of its events, and a start before now
    /// takes its first step from the log at once (within `out`'s backlog room): while it is not
    /// live, the session calls catch_up() until it is. Its events are sent as
    /// {"type":"event","sub":id,"seq":…,...}. `id` must not be one of `out`'s subscriptions already
    /// (the session reserves it first): that throws std::invalid_argument.
    [[nodiscard]] join_result add(std::shared_ptr<outbox> out, std::string id, feed_filter filter,
                                  const log_start& start = {});
    /// Queues, within `out`'s backlog room and a step's bound, more of what subscription `id` has
    /// not read from the log.
    [[nodiscard]] catch_up_state catch_up(const outbox& out, const std::string& id);
    /// Removes one subscription; once this returns, no more of its events are queued.
    void remove(const outbox& out, const std::string& id);
    /// Removes every subscription of the session whose outbox is `out`.
    void remove_all(const outbox& out);

    /// Numbers one event (called from the bus's threads, inside on_event), hands it to `first`,
    /// then offers it to every live subscription that wants it. Its cost grows with those that
    /// want the event's name or aggregate, not with the others.
    void publish(const cascade::envelope& event, const numbered& first = {});

    /// Where the event log stands now.
    [[nodiscard]] log_bounds bounds() const;

    [[nodiscard]] std::size_t size() const;

private:
    struct subscription {
        std::shared_ptr<outbox> out;
        std::string id;
        feed_filter filter;
        std::uint64_t next_seq = 0;  ///< while catching up: the next seq to read from the log
        bool live = false;
    };
    /// One session's subscriptions by id (ids are unique per session: it checks before add). The
    /// nodes of unordered maps stay put, so the index points into them.
    using session_subscriptions = string_map<subscription>;

    [[nodiscard]] subscription* find_locked(const outbox& out, std::string_view id);
    /// Unfiles and destroys `s`.
    void erase_locked(subscription& s) noexcept;
    /// One step of catching up for `s` (under the lock); removes it when it is gone or expired.
    [[nodiscard]] catch_up_state step_locked(subscription& s);

    mutable std::mutex mutex_;
    event_log log_;
    std::unordered_map<const outbox*, session_subscriptions> sessions_;
    /// Every subscription, live or catching up, by the names or aggregates it wants: publish looks
    /// only at those an event may concern (and skips those not live yet).
    subscription_index<subscription> index_;
    std::size_t size_ = 0;
};

}  // namespace gateway
