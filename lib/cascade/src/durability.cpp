#include "durability.hpp"

#include <utility>

namespace cascade::detail {
namespace {

[[nodiscard]] bool same_message(const any_message& a, const any_message& b) {
    return a.name() == b.name() && a.data() == b.data();
}

/// Shutdown cut the cascade: it is resumed from the journal at the next start, not finished.
[[nodiscard]] bool cut_by_shutdown(const outcome& result) {
    for (const auto& error : result.errors) {
        if (error.code == failure::cancelled || error.code == failure::unfinished) {
            return true;
        }
    }
    return false;
}

}  // namespace

journal_callback durability::counted(journal_callback done) {
    {
        const std::scoped_lock lock{writes_mutex_};
        ++writes_;
    }
    return [this, done = std::move(done)](std::exception_ptr failed) {
        done(std::move(failed));
        const std::scoped_lock lock{writes_mutex_};
        if (--writes_ == 0) {
            quiet_.notify_all();
        }
    };
}

void durability::append(journaled_submit submit, journal_callback done) {
    log_->append(std::move(submit), counted(std::move(done)));
}

void durability::record_run(handler_run run, journal_callback done) {
    log_->record_run(std::move(run), counted(std::move(done)));
}

void durability::finish(const std::string& key, outcome result, std::function<void(outcome)> then) {
    const auto tell = [this, key](const outcome& recorded, bool keep_key) {
        std::vector<cascade_observer> followers;
        if (!key.empty()) {
            const std::scoped_lock lock{keys_mutex_};
            if (const auto it = keys_.find(key); it != keys_.end()) {
                followers = std::exchange(it->second.followers, {});
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
    log_->finish(root, *shared, counted([shared, tell, then = std::move(then)](const std::exception_ptr& failed) {
                     // Not recorded: the key keeps answering from memory.
                     tell(*shared, failed != nullptr);
                     then(std::move(*shared));
                 }));
}

void durability::wait_quiet() {
    std::unique_lock lock{writes_mutex_};
    quiet_.wait(lock, [this] { return writes_ == 0; });
}

submit_result durability::claim(const std::string& key, message_id id, const any_message& msg,
                                cascade_observer& observer) {
    std::optional<outcome> recorded;
    message_id known_id = 0;
    {
        // The journal is read under the lock: two submits of one new key cannot both reserve it.
        const std::scoped_lock lock{keys_mutex_};
        if (const auto it = keys_.find(key); it != keys_.end()) {
            if (!same_message(it->second.message, msg)) {
                return {.status = admission::duplicate_key, .id = 0};
            }
            known_id = it->second.id;
            if (it->second.finished) {
                recorded = it->second.finished;
            } else {
                it->second.followers.push_back(observer);
            }
        } else if (auto known = log_->find(key, *registry_)) {
            if (!same_message(known->submit.message, msg)) {
                return {.status = admission::duplicate_key, .id = 0};
            }
            known_id = known->submit.id;
            if (known->finished) {
                recorded = std::move(known->finished);
            } else {
                // Appended and not finished: its cascade runs (recovery tracks every such key).
                keys_.emplace(key, in_flight{.id = known_id, .message = msg, .followers = {observer}, .finished = {}});
            }
        } else {
            keys_.emplace(key, in_flight{.id = id, .message = msg, .followers = {}, .finished = {}});
            return {.status = admission::accepted, .id = id};
        }
    }
    if (observer.on_recorded) {
        observer.on_recorded(known_id, true);
    }
    if (recorded) {
        replay(observer, *recorded);
    }
    return {.status = admission::accepted, .id = known_id, .replay = true};
}

std::optional<keyed_submit> durability::find(std::string_view key) {
    {
        const std::scoped_lock lock{keys_mutex_};
        if (const auto it = keys_.find(key); it != keys_.end()) {
            return keyed_submit{.submit = {.id = it->second.id, .key = std::string{key}, .message = it->second.message},
                                .finished = it->second.finished};
        }
    }
    return log_->find(key, *registry_);
}

void durability::release(const std::string& key) {
    const std::scoped_lock lock{keys_mutex_};
    keys_.erase(key);
}

void durability::track(const std::string& key, message_id id, const any_message& msg) {
    const std::scoped_lock lock{keys_mutex_};
    keys_.insert_or_assign(key, in_flight{.id = id, .message = msg, .followers = {}, .finished = {}});
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
