#pragma once
// The live feed: every event of every cascade that goes through the gateway is offered to the
// subscriptions whose filters match. The bus has no global tap, so the gateway is the tap.

#include "cascade/envelope.hpp"
#include "gateway/outbox.hpp"

#include <atomic>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

namespace gateway {

/// Which events a subscription wants; an empty list means "any".
struct feed_filter {
    std::vector<std::string> names;
    std::vector<std::string> aggregates;

    [[nodiscard]] bool matches(const cascade::envelope& event) const noexcept;
};

class live_feed {
public:
    /// Adds subscription `id` of the session whose outbox is `out`; its events are sent as
    /// {"type":"event","sub":id,...}.
    void add(std::shared_ptr<outbox> out, std::string id, feed_filter filter);
    /// Removes one subscription; once this returns, no more of its events are queued.
    void remove(const outbox& out, const std::string& id);
    /// Removes every subscription of the session whose outbox is `out`.
    void remove_all(const outbox& out);

    /// Offers one event to every subscription (called from the bus's threads, inside on_event).
    void publish(const cascade::envelope& event) const;

    [[nodiscard]] std::size_t size() const noexcept { return size_.load(std::memory_order_acquire); }

private:
    struct subscription {
        std::shared_ptr<outbox> out;
        std::string id;
        feed_filter filter;
    };

    mutable std::shared_mutex mutex_;
    std::vector<subscription> subscriptions_;
    std::atomic<std::size_t> size_{0};  ///< lets publish skip the lock when nobody listens
};

}  // namespace gateway
