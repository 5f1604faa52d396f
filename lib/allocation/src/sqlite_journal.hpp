#pragma once
// The bus's journal in the SQLite store's file. One writer thread commits its records many to a
// transaction (group commit): the bus's submits, outcomes and letters, and journaled units of
// work, each with its handler's run. Internal: include only from lib/allocation/src.

#include "sqlite_database.hpp"
#include "unit_writes.hpp"

#include <cascade/journal.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace allocation::detail {

class sqlite_journal final : public cascade::journal {
public:
    explicit sqlite_journal(std::shared_ptr<sqlite_store::impl> database);
    /// Commits what is queued, then stops the writer.
    ~sqlite_journal() override;
    sqlite_journal(const sqlite_journal&) = delete;
    sqlite_journal& operator=(const sqlite_journal&) = delete;
    sqlite_journal(sqlite_journal&&) = delete;
    sqlite_journal& operator=(sqlite_journal&&) = delete;

    [[nodiscard]] bool durable() const noexcept override { return true; }

    void append(cascade::journaled_submit submit, cascade::journal_callback done) override;
    void record_run(cascade::handler_run run, cascade::journal_callback done) override;
    void finish(cascade::message_id root, const cascade::outcome& result, cascade::journal_callback done) override;
    /// Calls back (on the writer thread) once the unit of work queued under `batch` (a ticket of
    /// write_unit) is written, or with what failed it.
    void flush(std::uint64_t batch, cascade::journal_callback done) override;
    void keep_letter(const cascade::dead_letter& letter, cascade::journal_callback done) override;
    void drop_letter(std::uint64_t id, cascade::journal_callback done) override;

    [[nodiscard]] std::optional<cascade::handler_run> find_run(cascade::message_id message, std::string_view handler,
                                                               const cascade::message_registry& registry) override;
    [[nodiscard]] std::optional<cascade::keyed_submit> find(std::string_view key,
                                                            const cascade::message_registry& registry) override;
    [[nodiscard]] cascade::journal_state recover(const cascade::message_registry& registry) override;

    /// Queues a journaled unit of work's writes for the writer's next transaction, in a
    /// savepoint of its own (a conflict fails it alone). Returns its ticket for flush.
    [[nodiscard]] std::uint64_t write_unit(unit_writes writes);

private:
    /// What one record's write returns: null, or what failed this record alone.
    using write_result = std::exception_ptr;

    /// One record for the writer: `write` runs inside its transaction.
    struct queued_write {
        std::function<write_result(connection&)> write;
        cascade::journal_callback done;  ///< null for a unit of work: its ticket is flushed instead
        std::uint64_t ticket = 0;        ///< a unit of work's, or 0
    };

    /// Waits for a unit of work's ticket to be written.
    struct ticket_waiter {
        std::uint64_t ticket = 0;
        cascade::journal_callback done;
    };

    /// A callback with what to tell it.
    using answer_to = std::pair<cascade::journal_callback, std::exception_ptr>;

    /// Failed tickets kept for a flush at most; past that the oldest is forgotten.
    static constexpr std::size_t kept_failures = 4096;

    void queue(std::function<write_result(connection&)> write, cascade::journal_callback done);
    void run_writer();
    /// Writes `records` in one transaction, then calls each back (units through their tickets).
    void commit(std::deque<queued_write>& records);
    /// Records what became of the tickets up to `last`, and answers who waits for them.
    void settle(std::uint64_t last, std::vector<std::pair<std::uint64_t, std::exception_ptr>> failures);
    /// What became of a settled ticket: null when it was written. Under mutex_.
    [[nodiscard]] std::exception_ptr outcome_of(std::uint64_t ticket) const;
    static void answer(std::vector<answer_to>& answers);
    /// Inside the writer's transaction, at most once a minute.
    void prune_if_due(connection& conn);

    std::shared_ptr<sqlite_store::impl> database_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<queued_write> queued_;
    std::vector<ticket_waiter> waiters_;
    std::uint64_t last_ticket_ = 0;                       ///< the newest unit queued
    std::uint64_t settled_ = 0;                           ///< every ticket up to it is written or failed
    std::map<std::uint64_t, std::exception_ptr> failed_;  ///< the newest failed tickets
    std::uint64_t forgotten_ = 0;                         ///< the newest failed ticket no longer in failed_
    std::vector<answer_to> ready_;                        ///< flushes of settled tickets, for the writer to answer
    bool stopping_ = false;
    std::chrono::steady_clock::time_point next_prune_;
    std::thread writer_;  ///< last: started once everything it uses exists
};

}  // namespace allocation::detail
