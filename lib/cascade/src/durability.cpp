#include "durability.hpp"

#include <algorithm>
#include <utility>

namespace cascade::detail {
namespace {

[[nodiscard]] bool same_message(const any_message& a, const any_message& b) {
    return a.name() == b.name() && a.data() == b.data();
}

}  // namespace

bool cut_by_shutdown(const outcome& result) noexcept {
    return std::ranges::any_of(result.errors, [](const handler_error& error) {
        return error.code == failure::cancelled || error.code == failure::unfinished;
    });
}

journal_callback durability::counted(journal_callback done) {
    {
        const std::scoped_lock lock{writes_mutex_};
        ++writes_;
    }
    return [this, done = std::move(done)](std::exception_ptr failed) {
        try {
            done(std::move(failed));
        } catch (...) {  // NOLINT(bugprone-empty-catch): an observer's throw must not kill the journal's writer
        }
        const std::scoped_lock lock{writes_mutex_};
        if (--writes_ == 0) {
            quiet_.notify_all();
        }
    };
}

void durability::write(const std::function<void(journal_callback)>& start, journal_callback done) {
    auto callback = counted(std::move(done));
    try {
        start(callback);
    } catch (...) {
        callback(std::current_exception());  // never queued: it fails now, and is no longer counted
    }
}

void durability::append(journaled_submit submit, journal_callback done) {
    write([&](journal_callback callback) { log_->append(std::move(submit), std::move(callback)); }, std::move(done));
}

void durability::record_run(handler_run run, journal_callback done) {
    write([&](journal_callback callback) { log_->record_run(std::move(run), std::move(callback)); }, std::move(done));
}

void durability::flush(std::uint64_t batch, journal_callback done) {
    write([&](journal_callback callback) { log_->flush(batch, std::move(callback)); }, std::move(done));
}

void durability::keep_letter(const dead_letter& letter) {
    write([&](journal_callback callback) { log_->keep_letter(letter, std::move(callback)); },
          [](const std::exception_ptr&) {});
}

void durability::drop_letter(std::uint64_t id) {
    write([&](journal_callback callback) { log_->drop_letter(id, std::move(callback)); },
          [](const std::exception_ptr&) {});
}

void durability::finish(const std::string& key, outcome result, std::function<void(outcome)> then) {
    const auto tell = [this, key](const outcome& recorded, bool keep_key) {
        std::vector<cascade_observer> followers;
        if (!key.empty()) {
            const std::scoped_lock lock{keys_mutex_};
            if (const auto it = keys_.find(key); it != keys_.end()) {
                followers = std::exchange(it->second.followers, {});
                // Still waiting for an ack: the append failed, and on_done alone tells them so.
                for (auto& waiting : it->second.waiting) {
                    followers.push_back(std::move(waiting));
                }
                it->second.waiting.clear();
                if (keep_key) {
                    it->second.finished = recorded;
                } else {
                    keys_.erase(it);  // the journal answers for it from now on
                }
            }
        }
        for (auto& follower : followers) {
            replay(follower, recorded);
        }
    };
    if (cut_by_shutdown(result)) {
        tell(result, true);
        then(std::move(result));
        return;
    }
    const message_id root = result.id;
    auto shared = std::make_shared<outcome>(std::move(result));
    write([&](journal_callback callback) { log_->finish(root, *shared, std::move(callback)); },
          [shared, tell, then = std::move(then)](const std::exception_ptr& failed) {
              // Not recorded: the key keeps answering from memory.
              tell(*shared, failed != nullptr);
              then(std::move(*shared));
          });
}

void durability::wait_quiet() {
    std::unique_lock lock{writes_mutex_};
    quiet_.wait(lock, [this] { return writes_ == 0; });
}

submit_result durability::claim(const journaled_submit& submit, cascade_observer& observer) {
    const std::string& key = submit.key;
    const any_message& msg = submit.message;
    std::optional<outcome> recorded;
    message_id known_id = 0;
    {
        // The journal is read under the lock: two submits of one new key cannot both reserve it.
        const std::scoped_lock lock{keys_mutex_};
        auto it = keys_.find(key);
        if (it == keys_.end()) {
            auto known = log_->find(key, *registry_);
            if (!known) {
                keys_.emplace(key, in_flight{.id = submit.id, .principal = submit.principal, .message = msg});
                return {.status = admission::accepted, .id = submit.id};
            }
            if (known->finished) {
                if (!same_message(known->submit.message, msg)) {
                    return {.status = admission::duplicate_key, .id = 0};
                }
                recorded = std::move(known->finished);
                known_id = known->submit.id;
            } else {
                // Appended and not finished: recovery runs it (it tracks every such key).
                it = keys_
                         .emplace(key, in_flight{.id = known->submit.id,
                                                 .principal = known->submit.principal,
                                                 .message = known->submit.message,
                                                 .appended = true})
                         .first;
            }
        }
        if (!recorded) {
            if (!same_message(it->second.message, msg)) {
                return {.status = admission::duplicate_key, .id = 0};
            }
            known_id = it->second.id;
            if (it->second.finished) {
                recorded = it->second.finished;
            } else if (!it->second.appended) {
                // Acked with the submit it follows, once that is on disk (appended()).
                it->second.waiting.push_back(observer);
                return {.status = admission::accepted, .id = known_id, .replay = true};
            }
        }
    }
    if (observer.on_recorded) {
        observer.on_recorded(known_id, true);
    }
    if (!recorded) {
        // Registered only now, after its ack: every later callback follows the ack.
        const std::scoped_lock lock{keys_mutex_};
        recorded = follow_or_recorded(key, observer);
    }
    if (recorded) {
        replay(observer, *recorded);
    }
    return {.status = admission::accepted, .id = known_id, .replay = true};
}

std::optional<outcome> durability::follow_or_recorded(const std::string& key, cascade_observer& observer) {
    if (const auto it = keys_.find(key); it != keys_.end()) {
        if (it->second.finished) {
            return it->second.finished;
        }
        it->second.followers.push_back(observer);
        return std::nullopt;
    }
    // Finished and recorded meanwhile: the journal has it.
    auto known = log_->find(key, *registry_);
    return known ? std::move(known->finished) : std::nullopt;
}

void durability::appended(const std::string& key) {
    std::vector<cascade_observer> waiting;
    message_id id = 0;
    {
        const std::scoped_lock lock{keys_mutex_};
        const auto it = keys_.find(key);
        if (it == keys_.end()) {
            return;
        }
        it->second.appended = true;
        id = it->second.id;
        waiting = std::exchange(it->second.waiting, {});
    }
    for (auto& follower : waiting) {
        if (follower.on_recorded) {
            follower.on_recorded(id, true);
        }
    }
    // Only now do they follow: nothing of the cascade has run yet (it enters its lane after this).
    const std::scoped_lock lock{keys_mutex_};
    if (const auto it = keys_.find(key); it != keys_.end()) {
        for (auto& follower : waiting) {
            it->second.followers.push_back(std::move(follower));
        }
    }
}

std::optional<keyed_submit> durability::find(std::string_view key) {
    {
        const std::scoped_lock lock{keys_mutex_};
        if (const auto it = keys_.find(key); it != keys_.end()) {
            return keyed_submit{.submit = {.id = it->second.id,
                                           .key = std::string{key},
                                           .principal = it->second.principal,
                                           .message = it->second.message},
                                .finished = it->second.finished};
        }
    }
    return log_->find(key, *registry_);
}

void durability::release(const std::string& key) {
    const std::scoped_lock lock{keys_mutex_};
    keys_.erase(key);
}

void durability::track(const journaled_submit& submit) {
    const std::scoped_lock lock{keys_mutex_};
    keys_.insert_or_assign(
        submit.key,
        in_flight{.id = submit.id, .principal = submit.principal, .message = submit.message, .appended = true});
}

void durability::replay(cascade_observer& observer, const outcome& recorded) {
    if (observer.on_event) {
        for (const auto& event : recorded.events) {
            observer.on_event(event);
        }
    }
    if (observer.on_done) {
        observer.on_done(recorded);
    }
}

}  // namespace cascade::detail
