#include "submit_tracker.hpp"

#include "gateway/protocol.hpp"

namespace gateway {

void submit_tracker::acknowledge(cascade::message_id message, bool replay) {
    // Not std::call_once: glibc's ends every first call with a futex wake-up system call, one per
    // submit. The mutex is almost never contended, and the flag skips it after the ack.
    if (acked_.load(std::memory_order_acquire)) {
        return;
    }
    const std::scoped_lock lock{ack_mutex_};
    if (!acked_.load(std::memory_order_relaxed)) {
        (void)outbox_->send(protocol::ack_frame(id_, message, replay));
        acked_.store(true, std::memory_order_release);
    }
}

void submit_tracker::on_event(const cascade::envelope& event, std::uint64_t seq, std::string_view body) {
    acknowledge(event.correlation_id);
    // on_event calls of one cascade never overlap, so n needs no lock.
    (void)outbox_->send(protocol::event_frame(id_, ++events_, seq, body));
}

void submit_tracker::on_done(const cascade::outcome& outcome) {
    if (journaled_ && !acked_.load(std::memory_order_acquire)) {
        // Never recorded (the journal failed): no ack, which would say it is on disk.
        outbox_->complete_submit(
            id_, protocol::error_frame(id_, protocol::refusal::internal,
                                       outcome.errors.empty() ? std::string_view{"the journal failed"}
                                                              : std::string_view{outcome.errors.front().message}));
        return;
    }
    acknowledge(outcome.id);
    outbox_->complete_submit(id_, protocol::done_frame(id_, outcome));
}

submit_observer submit_tracker::observer(const std::shared_ptr<submit_tracker>& self) {
    return {.on_recorded = [self](cascade::message_id message, bool replay) { self->acknowledge(message, replay); },
            .on_event = [self](const cascade::envelope& event, std::uint64_t seq,
                               std::string_view body) { self->on_event(event, seq, body); },
            .on_done = [self](cascade::outcome outcome) { self->on_done(outcome); }};
}

}  // namespace gateway
