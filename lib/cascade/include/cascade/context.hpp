#pragma once
// What a handler sees: its envelope, its dependencies, and a way to raise events.

#include "cascade/envelope.hpp"
#include "cascade/services.hpp"

#include <functional>
#include <vector>

namespace cascade {

/// Hands over events held elsewhere (for example by the aggregates a unit of work has seen);
/// called by the bus after the handler's awaitable completes successfully.
using event_source = std::function<std::vector<any_message>()>;

class context {
public:
    context(const cascade::envelope& incoming, const services& dependencies, std::uint32_t attempt) noexcept
        : envelope_{&incoming}, services_{&dependencies}, attempt_{attempt} {}

    /// The envelope of the message being handled.
    [[nodiscard]] const cascade::envelope& envelope() const noexcept { return *envelope_; }

    /// 1 for the first try, 2 for the first retry, and so on.
    [[nodiscard]] std::uint32_t attempt() const noexcept { return attempt_; }

    /// The dependency of type T, provided at bootstrap.
    template <class T>
    [[nodiscard]] T& get() const {
        return services_->get<T>();
    }
    [[nodiscard]] const services& dependencies() const noexcept { return *services_; }

    /// Raises an event; it is collected when this handler completes, or dropped if it fails.
    template <event E>
    void raise(E evt) {
        raised_.emplace_back(std::move(evt));
    }
    /// Raises a type-erased event; a command is refused with std::invalid_argument.
    void raise(any_message evt);

    /// Adds a source whose events are collected after the handler completes.
    void add_event_source(event_source source) { sources_.push_back(std::move(source)); }

    /// Everything raised, in order: direct raises first, then each source's events.
    /// Used by the bus once the handler has completed.
    [[nodiscard]] std::vector<any_message> take_raised();

private:
    const cascade::envelope* envelope_;
    const services* services_;
    std::uint32_t attempt_;
    std::vector<any_message> raised_;
    std::vector<event_source> sources_;
};

}  // namespace cascade
