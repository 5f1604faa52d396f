#include "cascade/memory_journal.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace cascade {

memory_journal::memory_journal() : writer_{[this] { run_writer(); }} {}

memory_journal::~memory_journal() {
    {
        const std::scoped_lock lock{mutex_};
        stopping_ = true;
        held_ = false;
    }
    wake_.notify_all();
    writer_.join();
}

void memory_journal::queue(std::function<void()> apply, journal_callback done) {
    {
        const std::scoped_lock lock{mutex_};
        queued_.push_back({std::move(apply), std::move(done)});
    }
    wake_.notify_one();
}

void memory_journal::run_writer() {
    std::unique_lock lock{mutex_};
    for (;;) {
        wake_.wait(lock, [this] { return stopping_ || (!queued_.empty() && !held_); });
        if (queued_.empty()) {
            return;  // stopping, and everything is committed
        }
        // One "transaction": everything queued, applied under the lock; callbacks outside it.
        std::vector<write> batch{std::make_move_iterator(queued_.begin()), std::make_move_iterator(queued_.end())};
        queued_.clear();
        std::vector<std::exception_ptr> failures(batch.size());
        for (std::size_t i = 0; i < batch.size(); ++i) {
            if (severed_) {
                failures[i] = std::make_exception_ptr(journal_severed{});
                continue;
            }
            try {
                batch[i].apply();
            } catch (...) {
                failures[i] = std::current_exception();
            }
        }
        if (!severed_) {
            ++commits_;
        }
        lock.unlock();
        for (std::size_t i = 0; i < batch.size(); ++i) {
            batch[i].done(failures[i]);
        }
        lock.lock();
    }
}

void memory_journal::append(journaled_submit submit, journal_callback done) {
    queue(
        [this, submit = std::move(submit)] {
            if (!submit.key.empty() && keys_.contains(submit.key)) {
                throw std::invalid_argument{"the key '" + submit.key + "' names a submit already"};
            }
            if (!submit.key.empty()) {
                keys_.emplace(submit.key, submit.id);
            }
            last_id_ = std::max(last_id_, submit.id);
            submits_.insert_or_assign(submit.id, submit_record{.submit = submit, .finished = {}});
        },
        std::move(done));
}

void memory_journal::record_run(handler_run run, journal_callback done) {
    queue(
        [this, run = std::move(run)] {
            for (const auto& event : run.raised) {
                last_id_ = std::max(last_id_, event.id);
            }
            runs_.insert_or_assign({run.message, run.handler}, run);
        },
        std::move(done));
}

void memory_journal::finish(message_id root, const outcome& result, journal_callback done) {
    queue(
        [this, root, result] {
            if (const auto it = submits_.find(root); it != submits_.end()) {
                it->second.finished = result;
            }
        },
        std::move(done));
}

void memory_journal::flush(std::uint64_t /*batch*/, journal_callback done) {
    queue([] {}, std::move(done));
}

void memory_journal::keep_letter(const dead_letter& letter, journal_callback done) {
    queue([this, letter] { letters_.insert_or_assign(letter.id, letter); }, std::move(done));
}

void memory_journal::drop_letter(std::uint64_t id, journal_callback done) {
    queue([this, id] { letters_.erase(id); }, std::move(done));
}

void memory_journal::commit_run(const handler_run& run, const std::function<void()>& effects) {
    const std::scoped_lock lock{mutex_};
    if (severed_) {
        throw journal_severed{};
    }
    if (runs_.contains({run.message, run.handler})) {
        throw std::logic_error{"the run of " + run.handler + " on message " + std::to_string(run.message) +
                               " is recorded already"};
    }
    effects();
    for (const auto& event : run.raised) {
        last_id_ = std::max(last_id_, event.id);
    }
    runs_.emplace(std::pair{run.message, run.handler}, run);
}

std::optional<handler_run> memory_journal::find_run(message_id message, std::string_view handler,
                                                    const message_registry& /*registry*/) {
    const std::scoped_lock lock{mutex_};
    const auto it = runs_.find(std::pair{message, std::string{handler}});
    if (it == runs_.end()) {
        return std::nullopt;
    }
    return it->second;
}

std::optional<keyed_submit> memory_journal::find(std::string_view key, const message_registry& /*registry*/) {
    const std::scoped_lock lock{mutex_};
    const auto id = keys_.find(key);
    if (id == keys_.end()) {
        return std::nullopt;
    }
    const auto& record = submits_.at(id->second);
    return keyed_submit{.submit = record.submit, .finished = record.finished};
}

journal_state memory_journal::recover(const message_registry& /*registry*/) {
    const std::scoped_lock lock{mutex_};
    journal_state state{.unfinished = {}, .last_id = last_id_};
    for (const auto& [id, record] : submits_) {
        if (!record.finished) {
            state.unfinished.push_back(record.submit);
        }
    }
    for (const auto& [id, letter] : letters_) {
        state.letters.push_back(letter);
        state.last_letter = id;
    }
    return state;
}

void memory_journal::sever() {
    const std::scoped_lock lock{mutex_};
    severed_ = true;
    held_ = false;
    wake_.notify_all();
}

void memory_journal::reopen() {
    const std::scoped_lock lock{mutex_};
    severed_ = false;
}

void memory_journal::hold() {
    const std::scoped_lock lock{mutex_};
    held_ = true;
}

void memory_journal::resume() {
    {
        const std::scoped_lock lock{mutex_};
        held_ = false;
    }
    wake_.notify_all();
}

std::uint64_t memory_journal::commits() const {
    const std::scoped_lock lock{mutex_};
    return commits_;
}

}  // namespace cascade
