#include "gateway/live_feed.hpp"

#include "gateway/protocol.hpp"

#include <algorithm>
#include <mutex>

namespace gateway {
namespace {

bool accepts(const std::vector<std::string>& wanted, std::string_view value) noexcept {
    return wanted.empty() || std::find(wanted.begin(), wanted.end(), value) != wanted.end();
}

}  // namespace

bool feed_filter::matches(const cascade::envelope& event) const noexcept {
    return accepts(names, event.name()) && accepts(aggregates, event.aggregate());
}

void live_feed::add(std::shared_ptr<outbox> out, std::string id, feed_filter filter) {
    const std::unique_lock lock{mutex_};
    subscriptions_.push_back({std::move(out), std::move(id), std::move(filter)});
    size_.store(subscriptions_.size(), std::memory_order_release);
}

void live_feed::remove(const outbox& out, const std::string& id) {
    const std::unique_lock lock{mutex_};
    std::erase_if(subscriptions_, [&](const subscription& s) { return s.out.get() == &out && s.id == id; });
    size_.store(subscriptions_.size(), std::memory_order_release);
}

void live_feed::remove_all(const outbox& out) {
    const std::unique_lock lock{mutex_};
    std::erase_if(subscriptions_, [&](const subscription& s) { return s.out.get() == &out; });
    size_.store(subscriptions_.size(), std::memory_order_release);
}

void live_feed::publish(const cascade::envelope& event) const {
    if (size() == 0) {
        return;
    }
    const std::shared_lock lock{mutex_};
    std::string body;  // serialised once, on the first match, and shared by every subscriber
    for (const auto& s : subscriptions_) {
        if (!s.filter.matches(event)) {
            continue;
        }
        if (body.empty()) {
            body = protocol::event_body(event);
        }
        // A slow subscriber overflows its own queue and is disconnected; the others go on.
        (void)s.out->send(protocol::feed_event_frame(s.id, body));
    }
}

}  // namespace gateway
