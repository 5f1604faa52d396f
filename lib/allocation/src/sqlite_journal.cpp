#include "sqlite_journal.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace allocation::detail {
namespace {

using json = nlohmann::json;

/// Rows are pruned at most this often.
constexpr std::chrono::minutes prune_every{1};

/// Applies a unit of work's writes in a savepoint: a conflict (its product changed, its run is
/// recorded already) fails it alone, and the rest of the transaction goes on.
[[nodiscard]] std::exception_ptr apply_alone(connection& c, const unit_writes& writes) {
    run(c.savepoint);
    try {
        apply(c, writes);
    } catch (...) {
        auto failed = std::current_exception();
        if (c.reusable()) {
            throw;  // SQLite rolled back the whole transaction (a full disk, say): every unit fails
        }
        run(c.rollback_to_savepoint);  // a throw here fails the whole transaction
        run(c.release_savepoint);
        return failed;
    }
    run(c.release_savepoint);
    return nullptr;
}

[[nodiscard]] std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

[[nodiscard]] std::int64_t column_id(cascade::message_id id) {
    return static_cast<std::int64_t>(id);
}

[[nodiscard]] std::vector<cascade::raised_event> raised_from_json(const json& events,
                                                                  const cascade::message_registry& registry) {
    std::vector<cascade::raised_event> raised;
    raised.reserve(events.size());
    for (const auto& event : events) {
        raised.push_back({.id = event.at("id").get<cascade::message_id>(),
                          .message = registry.decode(event.at("name").get<std::string>(), event.at("data"))});
    }
    return raised;
}

/// A read on a pooled connection, outside any transaction (WAL: it never waits for the writer).
template <class Read>
auto read(sqlite_store::impl& database, Read&& reading) {
    const auto conn = database.acquire();
    return std::forward<Read>(reading)(*conn);
}

}  // namespace

sqlite_journal::sqlite_journal(std::shared_ptr<sqlite_store::impl> database)
    : database_{std::move(database)}, next_prune_{std::chrono::steady_clock::now()}, writer_{[this] {
          run_writer();
      }} {}

sqlite_journal::~sqlite_journal() {
    {
        const std::scoped_lock lock{mutex_};
        stopping_ = true;
    }
    wake_.notify_all();
    writer_.join();
}

void sqlite_journal::queue(std::function<write_result(connection&)> write, cascade::journal_callback done) {
    {
        const std::scoped_lock lock{mutex_};
        queued_.push_back({.write = std::move(write), .done = std::move(done)});
    }
    wake_.notify_one();
}

void sqlite_journal::append(cascade::journaled_submit submit, cascade::journal_callback done) {
    // Encoded here, on the submitter's thread: the writer's time is the bottleneck.
    auto data = json_text(submit.message.data());
    std::string name{submit.message.name()};
    queue(
        [id = submit.id, key = std::move(submit.key), principal = std::move(submit.principal), name = std::move(name),
         data = std::move(data)](connection& c) {
            const statement_scope scope{c.insert_submit};
            scope->bind(1, column_id(id));
            if (key.empty()) {
                scope->bind(2);  // NULL: no key
            } else {
                scope->bind(2, key);
            }
            scope->bind(3, name);
            scope->bind(4, data);
            scope->bind(5, now_ms());
            scope->bind(6, principal);
            if (scope->exec() == 0) {
                return std::make_exception_ptr(std::invalid_argument{"the journal holds that id or key already"});
            }
            return write_result{};
        },
        std::move(done));
}

void sqlite_journal::record_run(cascade::handler_run run, cascade::journal_callback done) {
    queue(
        [row = row_of(run)](connection& c) {
            detail::record_run(c, row, run_write::replacing);  // a repeated run (at least once)
            return write_result{};
        },
        std::move(done));
}

void sqlite_journal::finish(cascade::message_id root, const cascade::outcome& result, cascade::journal_callback done) {
    queue(
        [root, outcome = json_text(to_json(result))](connection& c) {
            const statement_scope scope{c.finish_submit};
            scope->bind(1, column_id(root));
            scope->bind(2, outcome);
            scope->bind(3, now_ms());
            scope->exec();  // no row: the submit was never appended (a dead letter's retry, a failed append)
            return write_result{};
        },
        std::move(done));
}

void sqlite_journal::keep_letter(const cascade::dead_letter& letter, cascade::journal_callback done) {
    queue(
        [id = letter.id, text = json_text(cascade::to_json(letter))](connection& c) {
            const statement_scope scope{c.insert_letter};
            scope->bind(1, static_cast<std::int64_t>(id));
            scope->bind(2, text);
            scope->exec();
            return write_result{};
        },
        std::move(done));
}

void sqlite_journal::drop_letter(std::uint64_t id, cascade::journal_callback done) {
    queue(
        [id](connection& c) {
            const statement_scope scope{c.delete_letter};
            scope->bind(1, static_cast<std::int64_t>(id));
            scope->exec();
            return write_result{};
        },
        std::move(done));
}

std::uint64_t sqlite_journal::write_unit(unit_writes writes) {
    std::uint64_t ticket = 0;
    {
        const std::scoped_lock lock{mutex_};
        ticket = ++last_ticket_;
        queued_.push_back({.write = [writes = std::move(writes)](connection& c) { return apply_alone(c, writes); },
                           .done = nullptr,
                           .ticket = ticket});
    }
    wake_.notify_one();
    return ticket;
}

void sqlite_journal::flush(std::uint64_t batch, cascade::journal_callback done) {
    {
        const std::scoped_lock lock{mutex_};
        if (batch > settled_) {
            waiters_.push_back({batch, std::move(done)});
            return;
        }
        // Settled already: answered by the writer thread, never inside this call.
        ready_.emplace_back(std::move(done), outcome_of(batch));
    }
    wake_.notify_one();
}

std::exception_ptr sqlite_journal::outcome_of(std::uint64_t ticket) const {
    if (const auto it = failed_.find(ticket); it != failed_.end()) {
        return it->second;
    }
    if (ticket <= forgotten_) {
        return std::make_exception_ptr(
            std::runtime_error{"this unit of work was written too long ago for its outcome to be kept"});
    }
    return nullptr;
}

void sqlite_journal::run_writer() {
    const auto& options = database_->options();
    std::unique_lock lock{mutex_};
    for (;;) {
        wake_.wait(lock, [this] { return stopping_ || !queued_.empty() || !ready_.empty(); });
        if (!ready_.empty()) {
            auto answers = std::exchange(ready_, {});
            lock.unlock();
            answer(answers);
            lock.lock();
            continue;
        }
        if (queued_.empty()) {
            return;  // stopping, and everything is written and answered
        }
        if (options.group_commit_wait.count() > 0 && !stopping_) {
            wake_.wait_for(lock, options.group_commit_wait, [this, &options] {
                return stopping_ || queued_.size() >= options.group_commit_records || !ready_.empty();
            });
            if (!ready_.empty()) {
                continue;  // answered first; the records wait again
            }
        }
        std::deque<queued_write> records;
        const auto take = std::min(queued_.size(), std::max<std::size_t>(1, options.group_commit_records));
        records.insert(records.end(), std::make_move_iterator(queued_.begin()),
                       std::make_move_iterator(queued_.begin() + static_cast<std::ptrdiff_t>(take)));
        queued_.erase(queued_.begin(), queued_.begin() + static_cast<std::ptrdiff_t>(take));
        lock.unlock();
        commit(records);
        lock.lock();
    }
}

void sqlite_journal::commit(std::deque<queued_write>& records) {
    std::vector<write_result> results(records.size());
    std::exception_ptr failed;
    try {
        // A unit of work alone holds the gate while it runs; a long one makes the writer wait again.
        std::optional<sqlite_store::impl::write_permit> permit;
        while (!permit) {
            try {
                permit.emplace(*database_);
            } catch (const SQLite::Exception&) {  // NOLINT(bugprone-empty-catch): not within busy_timeout
            }
        }
        connection& conn = permit->connection();
        run(conn.begin);
        try {
            for (std::size_t i = 0; i < records.size(); ++i) {
                results[i] = records[i].write(conn);
            }
            prune_if_due(conn);
            run(conn.commit);
        } catch (...) {
            try {
                run(conn.rollback);
            } catch (...) {  // NOLINT(bugprone-empty-catch): the permit drops a connection left in a transaction
            }
            throw;
        }
    } catch (...) {
        failed = std::current_exception();
    }
    std::uint64_t last_ticket = 0;
    std::vector<std::pair<std::uint64_t, std::exception_ptr>> failures;
    for (std::size_t i = 0; i < records.size(); ++i) {
        const auto& outcome = failed ? failed : results[i];
        if (records[i].ticket == 0) {
            records[i].done(outcome);
            continue;
        }
        last_ticket = records[i].ticket;
        if (outcome) {
            failures.emplace_back(records[i].ticket, outcome);
        }
    }
    if (last_ticket != 0) {
        settle(last_ticket, std::move(failures));
    }
}

void sqlite_journal::settle(std::uint64_t last, std::vector<std::pair<std::uint64_t, std::exception_ptr>> failures) {
    std::vector<answer_to> answers;
    {
        const std::scoped_lock lock{mutex_};
        settled_ = last;  // tickets are queued, and so written, in their order
        for (auto& [ticket, failure] : failures) {
            failed_.emplace(ticket, std::move(failure));
        }
        // A failure is kept for any later flush of its ticket; only the newest ones, as nothing
        // flushes a ticket long after its unit was written.
        while (failed_.size() > kept_failures) {
            forgotten_ = failed_.begin()->first;
            failed_.erase(failed_.begin());
        }
        // std::partition, not std::ranges::partition: clang 14 (the fuzz build) cannot use the
        // subrange that the latter returns with libstdc++ 12.
        const auto ready = std::partition(waiters_.begin(), waiters_.end(),
                                          [last](const ticket_waiter& w) { return w.ticket > last; });
        for (auto waiter = ready; waiter != waiters_.end(); ++waiter) {
            answers.emplace_back(std::move(waiter->done), outcome_of(waiter->ticket));
        }
        waiters_.erase(ready, waiters_.end());
    }
    answer(answers);
}

void sqlite_journal::answer(std::vector<answer_to>& answers) {
    for (auto& [done, failure] : answers) {
        done(failure);
    }
}

void sqlite_journal::prune_if_due(connection& conn) {
    const auto now = std::chrono::steady_clock::now();
    if (now < next_prune_) {
        return;
    }
    next_prune_ = now + prune_every;
    const auto cutoff =
        now_ms() - std::chrono::duration_cast<std::chrono::milliseconds>(database_->options().keep_outcomes).count();
    // In a savepoint of its own: a failed prune leaves the rest of the transaction as it was.
    run(conn.begin_prune);
    try {
        for (auto* prune : {&conn.prune_runs, &conn.prune_submits}) {
            const statement_scope scope{*prune};
            scope->bind(1, cutoff);
            scope->exec();
        }
        run(conn.end_prune);
    } catch (...) {
        if (sqlite3_get_autocommit(conn.db.getHandle()) != 0) {
            throw;  // SQLite rolled back the whole transaction: the batch is lost
        }
        run(conn.undo_prune);  // retried at the next turn
        run(conn.end_prune);
    }
}

std::optional<cascade::handler_run> sqlite_journal::find_run(cascade::message_id message, std::string_view handler,
                                                             const cascade::message_registry& registry) {
    return read(*database_, [&](connection& c) -> std::optional<cascade::handler_run> {
        const statement_scope scope{c.select_run};
        scope->bind(1, column_id(message));
        scope->bind(2, std::string{handler});
        if (!scope->executeStep()) {
            return std::nullopt;
        }
        return cascade::handler_run{.message = message,
                                    .root = 0,
                                    .handler = std::string{handler},
                                    .result = json::parse(scope->getColumn(0).getString()),
                                    .raised = raised_from_json(json::parse(scope->getColumn(1).getString()), registry)};
    });
}

std::optional<cascade::keyed_submit> sqlite_journal::find(std::string_view key,
                                                          const cascade::message_registry& registry) {
    return read(*database_, [&](connection& c) -> std::optional<cascade::keyed_submit> {
        const statement_scope scope{c.select_submit_by_key};
        scope->bind(1, std::string{key});
        if (!scope->executeStep()) {
            return std::nullopt;
        }
        cascade::keyed_submit known{
            .submit = {.id = static_cast<cascade::message_id>(scope->getColumn(0).getInt64()),
                       .key = std::string{key},
                       .principal = scope->getColumn(4).getString(),
                       .message = registry.decode(scope->getColumn(1).getString(),
                                                  json::parse(scope->getColumn(2).getString()))},
            .finished = std::nullopt};
        if (const auto recorded = scope->getColumn(3); !recorded.isNull()) {
            known.finished = cascade::outcome_from_json(json::parse(recorded.getString()), registry);
        }
        return known;
    });
}

cascade::journal_state sqlite_journal::recover(const cascade::message_registry& registry) {
    return read(*database_, [&](connection& c) {
        cascade::journal_state state;
        {
            const statement_scope scope{c.select_unfinished};
            while (scope->executeStep()) {
                const auto id = static_cast<cascade::message_id>(scope->getColumn(0).getInt64());
                const auto key = scope->getColumn(1);
                try {
                    state.unfinished.push_back(
                        {.id = id,
                         .key = key.isNull() ? std::string{} : key.getString(),
                         .principal = scope->getColumn(4).getString(),
                         .message = registry.decode(scope->getColumn(2).getString(),
                                                    json::parse(scope->getColumn(3).getString()))});
                } catch (const std::exception& e) {
                    // A message this build cannot decode (its type was removed, say): left in the
                    // journal, reported, and the rest recovered.
                    spdlog::error("journal: submit {} cannot be recovered: {}", id, e.what());
                }
            }
        }
        {
            const statement_scope scope{c.select_letters};
            while (scope->executeStep()) {
                const auto id = static_cast<std::uint64_t>(scope->getColumn(0).getInt64());
                state.last_letter = std::max(state.last_letter, id);  // new letters never take its id
                try {
                    state.letters.push_back(
                        cascade::dead_letter_from_json(json::parse(scope->getColumn(1).getString()), registry));
                } catch (const std::exception& e) {
                    // Left in the journal for a build that knows its message again.
                    spdlog::error("journal: dead letter {} cannot be recovered: {}", id, e.what());
                }
            }
        }
        const statement_scope scope{c.select_last_id};
        if (scope->executeStep()) {
            state.last_id = static_cast<cascade::message_id>(scope->getColumn(0).getInt64());
        }
        return state;
    });
}

}  // namespace allocation::detail
