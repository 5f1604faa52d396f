#pragma once
// The bus's side of its journal: writes counted until they have called back (the bus does not go
// away under a callback), and the idempotency keys of the cascades in flight with the submitters
// that follow them. Internal: include only from lib/cascade/src.

#include "cascade/journal.hpp"
#include "cascade/submission.hpp"

#include <condition_variable>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace cascade::detail {

/// Shutdown cut the cascade: it is resumed from the journal at the next start, not finished.
[[nodiscard]] bool cut_by_shutdown(const outcome& result) noexcept;

class durability {
public:
    durability(std::shared_ptr<journal> log, const message_registry& registry) noexcept
        : log_{std::move(log)}, registry_{&registry} {}

    [[nodiscard]] journal& log() const noexcept { return *log_; }

    // Writes, each counted until its callback has run.
    void append(journaled_submit submit, journal_callback done);
    void record_run(handler_run run, journal_callback done);
    void flush(std::uint64_t batch, journal_callback done);
    /// Dead letters: kept and dropped in the journal in the order of these calls. Nobody waits
    /// for them; a failed write leaves the letter in memory only (or, dropped, listed again
    /// after a restart).
    void keep_letter(const dead_letter& letter);
    void drop_letter(std::uint64_t id);
    /// Records the outcome of the cascade of `key` (empty: none), then tells the submitters that
    /// follow the key and calls `then` with it (a `done` is sent once its outcome is recorded).
    void finish(const std::string& key, outcome result, std::function<void(outcome)> then);
    /// Blocks until every write has called back.
    void wait_quiet();

    /// Reserves `submit.key` for a new submit (accepted, replay false), or answers from what is
    /// known under it: the recorded outcome, or the cascade running under it, which
    /// `observer` then follows (accepted, replay true; its callbacks are called, possibly before
    /// this returns, on_recorded only once the running submit's append has committed); or
    /// duplicate_key when it names another message.
    [[nodiscard]] submit_result claim(const journaled_submit& submit, cascade_observer& observer);
    /// The submit reserved under `key` is appended: the submitters that follow it are told.
    void appended(const std::string& key);
    /// A reserved key whose submit was not appended.
    void release(const std::string& key);
    /// What is known under `key`: a cascade running or finished in this process, or else what the
    /// journal holds.
    [[nodiscard]] std::optional<keyed_submit> find(std::string_view key);
    /// A recovered cascade runs under its key again.
    void track(const journaled_submit& submit);

private:
    struct in_flight {
        message_id id{};
        std::string principal;
        any_message message;
        bool appended = false;                  ///< its append has committed: followers may be acked
        std::vector<cascade_observer> waiting;  ///< followers not acked yet: the append is pending
        std::vector<cascade_observer> followers;
        std::optional<outcome> finished;  ///< set when the cascade ended; the entry goes once recorded
    };

    /// Counts a write until its callback has run; the callback never throws.
    [[nodiscard]] journal_callback counted(journal_callback done);
    /// Starts a write through `start`, which queues `done`; if `start` throws, `done` is called
    /// with the exception.
    void write(const std::function<void(journal_callback)>& start, journal_callback done);
    /// What is known under `key` now, for claim(): under keys_mutex_.
    [[nodiscard]] std::optional<outcome> follow_or_recorded(const std::string& key, cascade_observer& observer);
    static void replay(cascade_observer& observer, const outcome& recorded);

    std::shared_ptr<journal> log_;
    const message_registry* registry_;

    std::mutex writes_mutex_;
    std::condition_variable quiet_;
    std::size_t writes_ = 0;

    std::mutex keys_mutex_;
    std::map<std::string, in_flight, std::less<>> keys_;
};

}  // namespace cascade::detail
