#include "bus_core.hpp"
#include "cascade_state.hpp"
#include "coarse_clock.hpp"
#include "describe.hpp"

#include <set>
#include <stdexcept>
#include <string>

// The bus_core's side of the journal: taking it, recovering from it, and a journaled
// submission's way in (append first, enter the lane once committed, outcome recorded).
namespace cascade::detail {

void bus_core::use_journal(std::shared_ptr<journal> log) {
    if (handlers.frozen()) {
        throw std::logic_error{"use_journal: the bus has taken submissions already"};
    }
    if (!log) {
        throw std::invalid_argument{"use_journal: no journal"};
    }
    durability_ = std::make_unique<durability>(std::move(log), handlers.registry());
    dead_letters_.record_to({.kept = [log = durability_.get()](const dead_letter& letter) { log->keep_letter(letter); },
                             .dropped = [log = durability_.get()](std::uint64_t id) { log->drop_letter(id); }});
}

std::size_t bus_core::recover() {
    if (!durability_) {
        throw std::logic_error{"recover: the bus keeps no journal (use_journal)"};
    }
    if (handlers.frozen()) {
        throw std::logic_error{"recover: the bus has taken submissions already"};
    }
    handlers.freeze();
    auto state = durability_->log().recover(handlers.registry());
    ids_.skip_past(state.last_id);
    restore_letters(state);
    recovered_.store(true, std::memory_order_release);
    std::size_t resumed = 0;
    for (auto& submit : state.unfinished) {
        if (!submit.key.empty()) {
            durability_->track(submit);
        }
        admission_.acquire_unchecked(1);
        auto cascade = std::make_shared<cascade_state>(submit.id, submit.message.kind(), recording({}, submit.key));
        work_item item{.message = envelope{.id = submit.id,
                                           .causation_id = 0,
                                           .correlation_id = submit.id,
                                           .depth = 0,
                                           .timestamp = coarse_now(),
                                           .principal = std::move(submit.principal),
                                           .message = std::move(submit.message)},
                       .cascade = std::move(cascade),
                       .only = nullptr,
                       .journaled = true,
                       .recovering = true};
        if (!enqueue(item)) {
            item.cascade->dismiss();
            (void)admission_.release(1);
            break;  // cancelled meanwhile: the rest stays in the journal for the next start
        }
        ++resumed;
        counter_shard::add(counts_.local().recovered);
    }
    return resumed;
}

submit_result bus_core::admit_journaled(any_message msg, cascade_observer observer, message_id id,
                                        submit_options options) {
    const std::string& key = options.key;
    const auto give_back_slot = [this] {
        (void)admission_.release(1);
        notify_if_idle();
    };
    if (!key.empty()) {
        submit_result claimed;
        try {
            claimed =
                durability_->claim({.id = id, .key = key, .principal = options.principal, .message = msg}, observer);
        } catch (...) {
            give_back_slot();
            throw;
        }
        if (!claimed || claimed.replay) {
            give_back_slot();
            return claimed;
        }
    }
    auto on_recorded = std::move(observer.on_recorded);
    std::shared_ptr<cascade_state> cascade;
    try {
        cascade = std::make_shared<cascade_state>(id, msg.kind(), recording(std::move(observer), key));
        work_item item{.message = envelope{.id = id,
                                           .causation_id = 0,
                                           .correlation_id = id,
                                           .depth = 0,
                                           .timestamp = coarse_now(),
                                           .principal = options.principal,
                                           .message = msg},
                       .cascade = cascade,
                       .only = nullptr,
                       .journaled = true,
                       .recovering = false};
        durability_->append(
            {.id = id, .key = key, .principal = std::move(options.principal), .message = std::move(msg)},
            [this, item = std::move(item), key, on_recorded = std::move(on_recorded)](
                const std::exception_ptr& failed) mutable { enter_journaled(item, key, on_recorded, failed); });
    } catch (...) {
        if (cascade) {
            cascade->dismiss();
        }
        if (!key.empty()) {
            durability_->release(key);
        }
        give_back_slot();
        throw;
    }
    counter_shard::add(counts_.local().submitted);
    return {.status = admission::accepted, .id = id};
}

void bus_core::enter_journaled(work_item& item, const std::string& key,
                               const std::function<void(message_id, bool)>& on_recorded,
                               const std::exception_ptr& failed) {
    if (failed) {
        // Never appended: it fails now, and its key is free again once that is recorded.
        item.cascade->record_error({.handler = "",
                                    .code = std::string{failure::internal},
                                    .message = "the journal did not record the submit: " + describe(failed),
                                    .handled_id = item.message.id},
                                   cascade_status::failed);
        settle(item);
        return;
    }
    if (!key.empty()) {
        durability_->appended(key);
    }
    if (on_recorded) {
        try {
            on_recorded(item.message.id, false);
        } catch (...) {  // NOLINT(bugprone-empty-catch): the observer's failure must not keep the cascade from running
        }
    }
    bool queued = false;
    try {
        queued = enqueue(item);
    } catch (...) {
        queued = false;  // it stays in the journal: the next start runs it
    }
    if (!queued) {
        // Cancelled meanwhile (or out of memory): reported as cut, and resumed at the next start.
        item.cascade->abandon(1, item.message.id);
        (void)admission_.release(1);
        notify_if_idle();
    }
}

cascade_observer bus_core::recording(cascade_observer observer, const std::string& key) {
    observer.on_done = [log = durability_.get(), key, inner = std::move(observer.on_done)](outcome result) {
        log->finish(key, std::move(result), [inner](outcome recorded) {
            if (inner) {
                inner(std::move(recorded));
            }
        });
    };
    return observer;
}

void bus_core::restore_letters(journal_state& state) {
    std::set<message_id> resumed;
    for (const auto& submit : state.unfinished) {
        resumed.insert(submit.id);
    }
    std::vector<dead_letter> kept;
    for (auto& letter : state.letters) {
        // A retry's message (and so a letter of a failed retry) has an id the journal does not
        // hold otherwise.
        ids_.skip_past(letter.message.id);
        if (resumed.contains(letter.message.correlation_id)) {
            // Its cascade had not recorded its outcome: it runs again now and delivers the event
            // again, which makes a new letter if the handler gives up again.
            durability_->drop_letter(letter.id);
        } else {
            kept.push_back(std::move(letter));
        }
    }
    dead_letters_.restore(std::move(kept), state.last_letter);
}

}  // namespace cascade::detail
