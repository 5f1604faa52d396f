#pragma once
// The bus's journal in the SQLite store's file: a unit of work records its handler's run in its
// own transaction (record_run below), and one writer thread commits the bus's other records many
// to a transaction (group commit). Internal: include only from lib/allocation/src.

#include "sqlite_database.hpp"

#include <cascade/journal.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace allocation::detail {

/// How a run is written: once (a unit of work: a run recorded already fails its commit, so its
/// effects cannot apply twice), or replacing (the bus's own record of a run it repeated).
enum class run_write : std::uint8_t { once, replacing };

/// Writes `run` on `c`, inside the caller's transaction.
void record_run(connection& c, const cascade::handler_run& run, run_write how = run_write::once);

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
    /// Wakes the writer: its next transaction commits the batch (units of work that recorded runs
    /// join the open transaction of the writing connection, which the writer commits).
    void flush(std::uint64_t batch, cascade::journal_callback done) override;
    void keep_letter(const cascade::dead_letter& letter, cascade::journal_callback done) override;
    void drop_letter(std::uint64_t id, cascade::journal_callback done) override;

    [[nodiscard]] std::optional<cascade::handler_run> find_run(cascade::message_id message, std::string_view handler,
                                                               const cascade::message_registry& registry) override;
    [[nodiscard]] std::optional<cascade::keyed_submit> find(std::string_view key,
                                                            const cascade::message_registry& registry) override;
    [[nodiscard]] cascade::journal_state recover(const cascade::message_registry& registry) override;

    /// Transactions the writer committed so far.
    [[nodiscard]] std::uint64_t commits() const;

private:
    /// One record for the writer: `write` runs inside its transaction and returns false to fail
    /// this record alone.
    struct queued_write {
        std::function<bool(connection&)> write;
        cascade::journal_callback done;
    };

    /// Waits for a batch of units of work to commit.
    struct batch_waiter {
        std::uint64_t batch = 0;
        cascade::journal_callback done;
    };

    void queue(std::function<bool(connection&)> write, cascade::journal_callback done);
    void run_writer();
    /// Commits `records` in one transaction with the open batch, and calls back each record and
    /// each waiter whose batch is decided (the others stay in `waiting`).
    void commit(std::deque<queued_write>& records, std::vector<batch_waiter>& waiting);
    void answer(std::vector<batch_waiter>& waiting, const std::exception_ptr& failed);
    /// Inside the writer's transaction, at most once a minute.
    void prune_if_due(connection& conn);

    std::shared_ptr<sqlite_store::impl> database_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<queued_write> queued_;
    std::vector<batch_waiter> waiters_;
    bool stopping_ = false;
    std::uint64_t commits_ = 0;
    std::chrono::steady_clock::time_point next_prune_;
    std::thread writer_;  ///< last: started once everything it uses exists
};

}  // namespace allocation::detail
