#pragma once
// The handlers of every message type, registered before the first submission and read without a
// lock afterwards. Internal: include only from lib/cascade/src.

#include "cascade/bus.hpp"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace cascade::detail {

struct handler_entry {
    std::string name;
    retry_policy retry;
    event_invoker on_event;      ///< set for event handlers
    command_invoker on_command;  ///< set for the command handler
};

/// The handlers of one message type.
struct handler_set {
    std::vector<handler_entry> events;
    std::unique_ptr<handler_entry> command;
};

class handler_table {
public:
    void declare(const message_type& type);
    void add_command_handler(const message_type& type, std::string name, command_invoker invoke);
    void add_event_handler(const message_type& type, std::string name, event_invoker invoke, retry_policy policy);

    /// Refuses registrations from now on (the first submission calls it).
    void freeze() noexcept {
        // Written once: a store on every submission would keep invalidating the cache line that
        // every runner reads the table from.
        if (!frozen_.load(std::memory_order_relaxed)) {
            frozen_.store(true, std::memory_order_release);
        }
    }

    [[nodiscard]] bool frozen() const noexcept { return frozen_.load(std::memory_order_acquire); }

    /// The handlers of `type`, or nullptr when it has none.
    [[nodiscard]] const handler_set* find(const message_type& type) const noexcept {
        return type.index < sets_.size() ? &sets_[type.index] : nullptr;
    }

    [[nodiscard]] const message_registry& registry() const noexcept { return registry_; }

private:
    void refuse_if_frozen() const;

    message_registry registry_;
    std::vector<handler_set> sets_;  ///< by message_type::index
    std::atomic<bool> frozen_{false};
};

}  // namespace cascade::detail
