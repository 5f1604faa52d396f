#include "cascade/context.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace cascade {

void context::raise(any_message evt) {
    if (evt.kind() != message_kind::event) {
        throw std::invalid_argument{"a handler raises events, not commands: " + std::string{evt.name()}};
    }
    refuse_if_recorded();
    raised_.push_back(std::move(evt));
}

std::vector<any_message> context::take_raised() {
    for (auto& source : sources_) {
        for (auto& evt : source()) {
            raise(std::move(evt));
        }
    }
    sources_.clear();
    return std::exchange(raised_, {});
}

handler_run context::prepare_run(const std::vector<any_message>& more) {
    if (run_.journal == nullptr) {
        throw std::logic_error{"prepare_run: this run is not journaled"};
    }
    refuse_if_recorded();
    handler_run run{.message = envelope_->id,
                    .root = envelope_->correlation_id,
                    .handler = std::string{run_.handler},
                    .result = result_,
                    .raised = {}};
    run.raised.reserve(raised_.size() + more.size());
    const auto add = [&](const any_message& evt) {
        if (evt.kind() != message_kind::event) {
            throw std::invalid_argument{"a handler raises events, not commands: " + std::string{evt.name()}};
        }
        run.raised.push_back({.id = run_.ids->next_id(), .message = evt});
    };
    std::ranges::for_each(raised_, add);
    std::ranges::for_each(more, add);
    return run;
}

void context::run_recorded(handler_run run) {
    refuse_if_recorded();
    raised_.clear();
    recorded_ = std::move(run);
}

void context::refuse_if_recorded() const {
    if (recorded_) {
        throw std::logic_error{"this handler's run is recorded already: it raises nothing more"};
    }
}

}  // namespace cascade
