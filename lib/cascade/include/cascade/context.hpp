#pragma once
// What a handler sees: its envelope, its dependencies, and a way to raise events.

#include "cascade/envelope.hpp"
#include "cascade/journal.hpp"
#include "cascade/services.hpp"

#include <functional>
#include <optional>
#include <string_view>
#include <vector>

namespace cascade {

/// Hands over events held elsewhere (for example by the aggregates a unit of work has seen);
/// called by the bus after the handler's awaitable completes successfully.
using event_source = std::function<std::vector<any_message>()>;

namespace detail {
/// Gives raised events their ids when a run is recorded.
class id_allocator {
public:
    [[nodiscard]] virtual message_id next_id() noexcept = 0;

protected:
    ~id_allocator() = default;
};

/// Where a run is recorded: set by the bus when the message's cascade is journaled.
struct run_scope {
    cascade::journal* journal = nullptr;
    id_allocator* ids = nullptr;
    std::string_view handler;
};
}  // namespace detail

class context {
public:
    context(const cascade::envelope& incoming, const services& dependencies, std::uint32_t attempt,
            detail::run_scope run = {}) noexcept
        : envelope_{&incoming}, services_{&dependencies}, attempt_{attempt}, run_{run} {}

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
        refuse_if_recorded();
        raised_.emplace_back(std::move(evt));
    }
    /// Raises a type-erased event; a command is refused with std::invalid_argument.
    void raise(any_message evt);

    /// Adds a source whose events are collected after the handler completes.
    void add_event_source(event_source source) { sources_.push_back(std::move(source)); }

    /// Everything raised, in order: direct raises first, then each source's events.
    /// Used by the bus once the handler has completed.
    [[nodiscard]] std::vector<any_message> take_raised();

    // Exactly once: a store that holds the bus's journal records the run in the transaction that
    // commits the handler's effects, so that a crash leaves both or neither.

    /// The journal this run is recorded in, or nullptr when its cascade is not journaled.
    [[nodiscard]] cascade::journal* journal() const noexcept { return run_.journal; }

    /// A command's result, for a handler whose run a store records: set it before the commit so
    /// that the journal keeps it with the effects. The bus answers with the recorded result when a
    /// store recorded the run (whatever the handler returns), else with this one when the
    /// handler returns null.
    void set_result(nlohmann::json result) { result_ = std::move(result); }
    [[nodiscard]] const nlohmann::json& result() const noexcept { return result_; }

    /// The record of this run: the result set so far, and the events raised so far followed by
    /// `more`, each given its id. For a store to commit with the handler's effects; once that
    /// commit succeeded, hand it to run_recorded(). std::logic_error without a journal, or when a
    /// run was recorded already.
    [[nodiscard]] handler_run prepare_run(const std::vector<any_message>& more = {});
    /// The prepared run is committed: what it raised is what this handler raised, and raising
    /// anything more is a std::logic_error.
    void run_recorded(handler_run run);
    /// The run a store recorded, if one did. Used by the bus once the handler has completed.
    [[nodiscard]] std::optional<handler_run> take_recorded_run() noexcept { return std::exchange(recorded_, {}); }

private:
    void refuse_if_recorded() const;

    const cascade::envelope* envelope_;
    const services* services_;
    std::uint32_t attempt_;
    detail::run_scope run_;
    std::vector<any_message> raised_;
    std::vector<event_source> sources_;
    nlohmann::json result_;
    std::optional<handler_run> recorded_;
};

}  // namespace cascade
