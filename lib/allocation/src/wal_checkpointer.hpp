#pragma once
// The SQLite store's WAL checkpoints, on a thread and a connection of their own. SQLite's own
// checkpoint runs in the thread that commits, after the commit that takes the WAL past 1,000
// pages, and syncs the file there: the journal's writer stalled for it, and so did every submit
// waiting for the writer. Here the writing connection only says how large the WAL has grown (its
// WAL hook, which also turns SQLite's automatic checkpoint off for it) and this thread copies
// the pages back: first while the writer goes on (PASSIVE: it never waits for the writer or for
// readers), then the few pages written meanwhile with the writer held, so that everything is
// copied and the next write starts the WAL over. Internal: include only from lib/allocation/src.

#include <SQLiteCpp/SQLiteCpp.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <sqlite3.h>
#include <thread>

namespace allocation::detail {

class wal_checkpointer {
public:
    /// Checkpoints once the WAL holds this many pages (SQLite's own default).
    static constexpr int checkpoint_pages = 1000;

    /// Checkpoints through `db`, a connection of its own to the file; `exclusive(f)` calls f while
    /// nothing else writes in this process.
    wal_checkpointer(SQLite::Database db, std::function<void(const std::function<void()>&)> exclusive)
        : db_{in_wal_mode(std::move(db))}, exclusive_{std::move(exclusive)}, thread_{[this] { run(); }} {}

    ~wal_checkpointer() {
        {
            const std::scoped_lock lock{mutex_};
            stopping_ = true;
        }
        wake_.notify_one();
        thread_.join();
    }

    wal_checkpointer(const wal_checkpointer&) = delete;
    wal_checkpointer& operator=(const wal_checkpointer&) = delete;
    wal_checkpointer(wal_checkpointer&&) = delete;
    wal_checkpointer& operator=(wal_checkpointer&&) = delete;

    /// Hands the WAL's checkpoints over to this thread for `writer`, which must not outlive it.
    void watch(SQLite::Database& writer) noexcept { sqlite3_wal_hook(writer.getHandle(), &on_commit, this); }

private:
    /// The connection once it has read the file: before that, it does not know the file is in
    /// WAL mode, and its checkpoints do nothing.
    [[nodiscard]] static SQLite::Database in_wal_mode(SQLite::Database db) {
        (void)db.execAndGet("PRAGMA journal_mode");
        return db;
    }

    /// SQLite's WAL hook: after each commit on the watched connection, with the WAL's size.
    static int on_commit(void* self, sqlite3* /*db*/, const char* /*name*/, int pages) {
        if (pages >= checkpoint_pages) {
            static_cast<wal_checkpointer*>(self)->request();
        }
        return SQLITE_OK;
    }

    void request() noexcept {
        {
            const std::scoped_lock lock{mutex_};
            due_ = true;
        }
        wake_.notify_one();
    }

    void run() {
        std::unique_lock lock{mutex_};
        for (;;) {
            wake_.wait(lock, [this] { return stopping_ || due_; });
            if (stopping_) {
                return;  // the last connection to close checkpoints what is left
            }
            due_ = false;
            lock.unlock();
            // Most pages are copied while the writer goes on; the rest, which it wrote meanwhile,
            // with the writer held, so that the WAL is all copied and its next commit starts it over.
            checkpoint();
            try {
                exclusive_([this] { checkpoint(); });
            } catch (const std::exception& e) {  // the write lock not within the busy timeout
                spdlog::warn("sqlite store: WAL checkpoint skipped: {}", e.what());
            }
            lock.lock();
        }
    }

    void checkpoint() noexcept {
        const int status =
            sqlite3_wal_checkpoint_v2(db_.getHandle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
        if (status != SQLITE_OK && status != SQLITE_BUSY) {
            // The WAL keeps growing until a later one succeeds; nothing committed is at risk.
            spdlog::warn("sqlite store: WAL checkpoint failed: {}", sqlite3_errstr(status));
        }
    }

    SQLite::Database db_;
    std::function<void(const std::function<void()>&)> exclusive_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool due_ = false;
    bool stopping_ = false;
    std::thread thread_;  ///< last: started once everything it uses exists
};

}  // namespace allocation::detail
