#include "handler_table.hpp"

#include <algorithm>
#include <stdexcept>

namespace cascade::detail {

void handler_table::refuse_if_frozen() const {
    if (frozen_.load(std::memory_order_acquire)) {
        throw std::logic_error{"handlers must be registered before the first submission"};
    }
}

void handler_table::declare(const message_type& type) {
    refuse_if_frozen();
    registry_.add(type);
    if (sets_.size() <= type.index) {
        sets_.resize(type.index + 1);
    }
}

void handler_table::add_command_handler(const message_type& type, std::string name, command_invoker invoke) {
    declare(type);
    auto& set = sets_[type.index];
    if (set.command) {
        throw std::logic_error{"command " + std::string{type.name} + " already has a handler (" + set.command->name +
                               "); a command has exactly one"};
    }
    set.command = std::make_unique<handler_entry>(handler_entry{
        .name = std::move(name), .retry = retry_policy::no_retry(), .on_event = {}, .on_command = std::move(invoke)});
}

void handler_table::add_event_handler(const message_type& type, std::string name, event_invoker invoke,
                                      retry_policy policy) {
    declare(type);
    auto& events = sets_[type.index].events;
    // A dead letter names its handler, and a retry goes to the handler of that name: one per event.
    if (std::ranges::find(events, name, &handler_entry::name) != events.end()) {
        throw std::logic_error{"event " + std::string{type.name} + " already has a handler named " + name};
    }
    policy.max_attempts = std::max<std::uint32_t>(1, policy.max_attempts);
    events.push_back(
        handler_entry{.name = std::move(name), .retry = policy, .on_event = std::move(invoke), .on_command = {}});
}

}  // namespace cascade::detail
