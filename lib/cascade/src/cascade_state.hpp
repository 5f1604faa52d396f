#pragma once
// One cascade's outcome while it is being built: how many of its messages are still queued or
// running, the events collected, the errors, and the one report to its observer.
// Internal: include only from lib/cascade/src.

#include "cascade/bus.hpp"

#include <atomic>
#include <cstdint>
#include <mutex>

namespace cascade::detail {

class cascade_state {
public:
    /// The cascade starts with one pending message: the one it was created for.
    cascade_state(message_id id, message_kind root_kind, cascade_observer observer);
    /// A cascade dropped unreported (its bus was destroyed with its messages) reports as cancelled.
    ~cascade_state();
    cascade_state(const cascade_state&) = delete;
    cascade_state& operator=(const cascade_state&) = delete;

    /// `n` more messages of the cascade are queued.
    void add_pending(std::size_t n) noexcept { pending_.fetch_add(n, std::memory_order_relaxed); }
    /// One message of the cascade is done; true for the caller that settled the last one.
    [[nodiscard]] bool settle_one() noexcept { return pending_.fetch_sub(1, std::memory_order_acq_rel) == 1; }
    /// The submitted message itself is done (whatever its handlers made of it).
    void mark_root_settled() noexcept { root_settled_.store(true, std::memory_order_release); }

    /// Of `wanted` more raised events, how many fit under `limit` events per cascade.
    [[nodiscard]] std::size_t admit_events(std::size_t wanted, std::size_t limit) noexcept;

    void record_event(const envelope& env);
    /// Records an error; the status only ever worsens (failed outranks partial outranks ok).
    void record_error(handler_error error, cascade_status status);
    /// `n` raised events were dropped past a limit: the cascade fails, with one error per limit.
    void record_dropped(std::size_t n, handler_error error);
    void set_result(nlohmann::json result);

    /// Reports the outcome, once: the last message is done.
    void complete();
    /// Reports the outcome now, once: shutdown cut the cascade with `unhandled` of its messages
    /// not handled, the first of them `first_unhandled`.
    void abandon(std::size_t unhandled, message_id first_unhandled);
    /// The cascade was never admitted: nothing is reported.
    void dismiss() noexcept;

private:
    /// Moves the outcome into `into` for its one report; false when it was taken already.
    [[nodiscard]] bool take_outcome_locked(outcome& into);
    void report(outcome& done);

    std::atomic<std::size_t> pending_{1};
    std::atomic<std::size_t> raised_{0};
    std::atomic<bool> root_settled_{false};
    std::mutex mutex_;
    outcome outcome_;
    message_kind root_kind_;
    bool reported_ = false;
    cascade_observer observer_;
};

}  // namespace cascade::detail
