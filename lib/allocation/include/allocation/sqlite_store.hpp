#pragma once
// The store in SQLite (through SQLiteCpp): one file, WAL mode, schema created on first use.
// One connection writes, one transaction at a time per process (SQLite has a single writer
// anyway, and waiting in-process is cheaper than SQLite's sleeping busy handler); busy_timeout
// covers other processes. Journaled units of work read on pooled connections and are written by
// the journal's writer thread, many to a transaction. Each product's version number is checked
// when it is written (optimistic concurrency).

#include "allocation/store.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>

namespace allocation {

/// When a commit reaches the disk (SQLite's `synchronous` in WAL mode).
enum class sqlite_sync : std::uint8_t {
    /// A commit survives a crash of the process; after a power cut the file is intact, but the
    /// commits since the last checkpoint may be gone. No fsync per commit.
    normal,
    /// A commit is on disk when it returns: it survives a power cut too. One fsync per commit.
    full,
};

struct sqlite_options {
    std::filesystem::path path = "allocation.db";
    sqlite_sync sync = sqlite_sync::normal;
    /// How long a unit of work waits for the write lock before failing.
    std::chrono::milliseconds busy_timeout = std::chrono::seconds{5};
    /// The journal's group commit: at most this many records per transaction...
    std::size_t group_commit_records = 1024;
    /// ...and a record waits at most this long for others to join its transaction (0: a
    /// transaction takes whatever queued while the previous one committed).
    std::chrono::microseconds group_commit_wait{0};
    /// How long a finished cascade's record (its outcome under its key, its runs) is kept.
    std::chrono::seconds keep_outcomes = std::chrono::hours{24};
};

class sqlite_store final : public store {
public:
    /// Opens (and creates, with its schema) the database file. Throws SQLite::Exception.
    explicit sqlite_store(sqlite_options options);
    explicit sqlite_store(std::filesystem::path path) : sqlite_store{sqlite_options{.path = std::move(path)}} {}
    ~sqlite_store() override;
    sqlite_store(const sqlite_store&) = delete;
    sqlite_store& operator=(const sqlite_store&) = delete;

    /// A unit alone holds the write lock and commits by itself; a journaled unit reads without
    /// it, and the journal's writer commits it with others (group commit).
    [[nodiscard]] std::unique_ptr<store_session> open_session(unit_kind kind) override;
    /// The bus's journal in this file: a journaled unit's run commits with its effects.
    [[nodiscard]] const std::shared_ptr<cascade::journal>& journal() const noexcept override;
    [[nodiscard]] const allocations_view& view() const noexcept override;
    [[nodiscard]] const std::filesystem::path& path() const noexcept;
    /// The `synchronous` setting its connections run with, as SQLite reports it.
    [[nodiscard]] sqlite_sync sync() const;

    class impl;  ///< pool, write gate and statements; keeps SQLiteCpp out of this header

private:
    std::shared_ptr<impl> impl_;  ///< shared with open sessions, which may outlive a careless owner
    std::shared_ptr<cascade::journal> journal_;
};

}  // namespace allocation
