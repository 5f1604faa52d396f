#include "allocation/unit_of_work.hpp"

#include "allocation/view_projection.hpp"

#include <iterator>
#include <optional>
#include <stdexcept>
#include <utility>

namespace allocation {

namespace {

/// Journaled when the handler's run is journaled in the store's own journal.
[[nodiscard]] bool journals_in(const store& storage, const cascade::context& ctx) noexcept {
    return ctx.journal() != nullptr && ctx.journal() == storage.journal().get();
}

}  // namespace

unit_of_work::unit_of_work(store& storage) : session_{storage.open_session(unit_kind::alone)}, products_{*session_} {}

unit_of_work::unit_of_work(store& storage, cascade::context& ctx)
    : ctx_{&ctx},
      journaled_{journals_in(storage, ctx)},
      session_{storage.open_session(journaled_ ? unit_kind::journaled : unit_kind::alone)},
      products_{*session_} {
    ctx.add_event_source(event_source());
}

unit_of_work::~unit_of_work() {
    rollback();
}

void unit_of_work::commit() {
    if (!session_) {
        throw std::logic_error{"the unit of work has already ended"};
    }
    const auto seen = products_.seen();
    // The events first: the store may take the products themselves. A failed commit drops them
    // with the rest of the unit, as before.
    event_buffer events;
    for (tracked_product* tracked : seen) {
        auto recorded = tracked->current.take_events();
        events.insert(events.end(), std::make_move_iterator(recorded.begin()), std::make_move_iterator(recorded.end()));
    }
    // Journaled here: the run, with these events, commits with the products.
    std::optional<cascade::handler_run> run;
    try {
        if (journaled_) {
            run = ctx_->prepare_run(events);
        }
        const auto batch = session_->commit(seen, view_changes_of(events), run ? &*run : nullptr);
        if (run) {
            run->batch = batch;  // the bus waits for it before the run's events are routed
        }
    } catch (...) {
        rollback();
        throw;
    }
    session_.reset();
    products_.close();
    if (run) {
        ctx_->run_recorded(std::move(*run));  // the events travel with the run
        return;
    }
    committed_events_->insert(committed_events_->end(), std::make_move_iterator(events.begin()),
                              std::make_move_iterator(events.end()));
}

void unit_of_work::rollback() noexcept {
    if (session_) {
        session_->rollback();
        session_.reset();
        products_.close();
    }
}

std::vector<cascade::any_message> unit_of_work::collect_new_events() {
    return std::exchange(*committed_events_, {});
}

cascade::event_source unit_of_work::event_source() const {
    return [events = committed_events_] { return std::exchange(*events, {}); };
}

}  // namespace allocation
