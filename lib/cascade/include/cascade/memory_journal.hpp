#pragma once
// A journal in memory: what the bus needs of one, without durability. It lets a bus follow
// idempotency keys within the process, and lets tests crash a bus at any point: a second bus on
// the same journal recovers what the first left, as a restarted process would from its store.

#include "cascade/journal.hpp"

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace cascade {

class memory_journal final : public journal {
public:
    memory_journal();
    /// Commits what is queued, then stops its writer.
    ~memory_journal() override;
    memory_journal(const memory_journal&) = delete;
    memory_journal& operator=(const memory_journal&) = delete;
    memory_journal(memory_journal&&) = delete;
    memory_journal& operator=(memory_journal&&) = delete;

    [[nodiscard]] bool durable() const noexcept override { return false; }

    void append(journaled_submit submit, journal_callback done) override;
    void record_run(handler_run run, journal_callback done) override;
    void finish(message_id root, const outcome& result, journal_callback done) override;
    /// commit_run commits at once: every batch is committed.
    void flush(std::uint64_t batch, journal_callback done) override;
    void keep_letter(const dead_letter& letter, journal_callback done) override;
    void drop_letter(std::uint64_t id, journal_callback done) override;

    [[nodiscard]] std::optional<handler_run> find_run(message_id message, std::string_view handler,
                                                      const message_registry& registry) override;
    [[nodiscard]] std::optional<keyed_submit> find(std::string_view key, const message_registry& registry) override;
    [[nodiscard]] journal_state recover(const message_registry& registry) override;

    /// What a store holding this journal does in one transaction: applies `effects` and records
    /// `run`, both or neither (under the journal's lock). Throws std::logic_error for a run
    /// recorded already, without applying the effects.
    void commit_run(const handler_run& run, const std::function<void()>& effects);

    // Crashes, for tests.

    /// The process "dies": from now on nothing is committed (what is queued is lost), and every
    /// write calls back with journal_severed. What was committed stays, for the next bus.
    void sever();
    /// A new process opens the journal: writes commit again.
    void reopen();
    /// Writes queue without committing until resume(): a crash during a group commit is a
    /// sever() while held.
    void hold();
    void resume();

    /// Transactions committed so far (one per group of writes).
    [[nodiscard]] std::uint64_t commits() const;

private:
    struct write {
        std::function<void()> apply;  ///< runs under the lock, at commit; throws to fail the write
        journal_callback done;
    };

    void queue(std::function<void()> apply, journal_callback done);
    void run_writer();

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<write> queued_;
    bool severed_ = false;
    bool held_ = false;
    bool stopping_ = false;
    std::uint64_t commits_ = 0;

    struct submit_record {
        journaled_submit submit;
        std::optional<outcome> finished;
    };
    std::map<message_id, submit_record> submits_;
    std::map<std::string, message_id, std::less<>> keys_;
    std::map<std::pair<message_id, std::string>, handler_run, std::less<>> runs_;
    std::map<std::uint64_t, dead_letter> letters_;
    message_id last_id_ = 0;

    std::thread writer_;  ///< last: started once everything it uses exists
};

/// What a severed journal's writes fail with.
class journal_severed : public std::runtime_error {
public:
    journal_severed() : std::runtime_error{"the journal was severed (a simulated crash)"} {}
};

}  // namespace cascade
