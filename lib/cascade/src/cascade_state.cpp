#include "bus_core.hpp"

namespace cascade::detail {

cascade_state::cascade_state(message_id id, message_kind root_kind, cascade_observer observer)
    : root_kind_{root_kind}, observer_{std::move(observer)} {
    outcome_.id = id;
}

cascade_state::~cascade_state() {
    if (!completed_) {
        outcome_.errors.push_back({.handler = "",
                                   .code = std::string{error_code::cancelled},
                                   .message = "cancelled by shutdown before the cascade finished",
                                   .handled_id = outcome_.id});
        outcome_.status = root_kind_ == message_kind::command ? cascade_status::failed : cascade_status::partial;
        outcome_.result = nullptr;
        complete();
    }
}

void cascade_state::record_event(const envelope& env) {
    const std::scoped_lock lock{mutex_};
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
    outcome_.status = std::max(outcome_.status, status);  // failed outranks partial outranks ok
}

void cascade_state::set_result(nlohmann::json result) {
    const std::scoped_lock lock{mutex_};
    outcome_.result = std::move(result);
}

void cascade_state::complete() {
    outcome done;
    {
        const std::scoped_lock lock{mutex_};
        completed_ = true;
        done = std::move(outcome_);
    }
    if (observer_.on_done) {
        try {
            observer_.on_done(std::move(done));
        } catch (...) {
            // As for on_event: nothing the observer does may stop the runner that finished it.
        }
    }
}

}  // namespace cascade::detail
