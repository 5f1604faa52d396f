#include "cascade_state.hpp"

#include <algorithm>
#include <string>

namespace cascade::detail {

cascade_state::cascade_state(message_id id, message_kind root_kind, cascade_observer observer)
    : root_kind_{root_kind}, observer_{std::move(observer)} {
    outcome_.id = id;
}

cascade_state::~cascade_state() {
    if (!reported_) {
        abandon(1, outcome_.id);
    }
}

std::size_t cascade_state::admit_events(std::size_t wanted, std::size_t limit) noexcept {
    auto raised = raised_.load(std::memory_order_relaxed);
    std::size_t admitted = 0;
    do {
        admitted = raised >= limit ? 0 : std::min(wanted, limit - raised);
    } while (admitted != 0 && !raised_.compare_exchange_weak(raised, raised + admitted, std::memory_order_relaxed));
    return admitted;
}

void cascade_state::record_event(const envelope& env) {
    const std::scoped_lock lock{mutex_};
    if (reported_) {
        return;  // cut by shutdown: nothing reaches the observer after its outcome
    }
    outcome_.events.push_back(env);
    if (observer_.on_event) {
        try {
            observer_.on_event(env);
        } catch (...) {
            // An observer's failure is the observer's: the cascade and its lane go on.
        }
    }
}

void cascade_state::record_error(handler_error error, cascade_status status) {
    const std::scoped_lock lock{mutex_};
    outcome_.errors.push_back(std::move(error));
    outcome_.status = std::max(outcome_.status, status);
}

void cascade_state::record_dropped(std::size_t n, handler_error error) {
    const std::scoped_lock lock{mutex_};
    outcome_.dropped += n;
    outcome_.status = cascade_status::failed;
    const bool known = std::ranges::any_of(outcome_.errors, [&](const auto& e) { return e.code == error.code; });
    if (!known) {
        outcome_.errors.push_back(std::move(error));
    }
}

void cascade_state::set_result(nlohmann::json result) {
    const std::scoped_lock lock{mutex_};
    outcome_.result = std::move(result);
}

bool cascade_state::take_outcome_locked(outcome& into) {
    if (reported_) {
        return false;
    }
    reported_ = true;
    into = std::move(outcome_);
    return true;
}

void cascade_state::report(outcome& done) {
    if (!observer_.on_done) {
        return;
    }
    try {
        observer_.on_done(std::move(done));
    } catch (...) {
        // As for on_event: nothing the observer does may stop the runner that finished it.
    }
}

void cascade_state::complete() {
    outcome done;
    bool taken = false;
    {
        const std::scoped_lock lock{mutex_};
        taken = take_outcome_locked(done);
    }
    if (taken) {
        report(done);
    }
}

void cascade_state::abandon(std::size_t unhandled, message_id first_unhandled) {
    outcome done;
    {
        const std::scoped_lock lock{mutex_};
        if (reported_) {
            return;
        }
        const auto what = std::to_string(unhandled) + (unhandled == 1 ? " message" : " messages");
        if (root_settled_.load(std::memory_order_acquire)) {
            // The submitted message was handled: its result and effects stand.
            outcome_.errors.push_back(
                {.handler = "",
                 .code = std::string{failure::unfinished},
                 .message = "shutdown passed its deadline with " + what + " of this cascade not handled",
                 .handled_id = first_unhandled});
            outcome_.status = std::max(outcome_.status, cascade_status::partial);
        } else {
            outcome_.errors.push_back({.handler = "",
                                       .code = std::string{failure::cancelled},
                                       .message = "shutdown passed its deadline before the submitted message was "
                                                  "handled (" +
                                                  what + " not handled)",
                                       .handled_id = first_unhandled});
            outcome_.status = root_kind_ == message_kind::command ? cascade_status::failed : cascade_status::partial;
            outcome_.result = nullptr;
        }
        (void)take_outcome_locked(done);
    }
    report(done);
}

void cascade_state::dismiss() noexcept {
    const std::scoped_lock lock{mutex_};
    reported_ = true;
}

}  // namespace cascade::detail
