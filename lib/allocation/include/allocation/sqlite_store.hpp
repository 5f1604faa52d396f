#pragma once
// The store in SQLite (through SQLiteCpp): one file, WAL mode, schema created on first use.
// Connections come from a small pool, one per unit of work; writing units run in
// BEGIN IMMEDIATE transactions, one at a time per process (SQLite has a single writer anyway,
// and waiting in-process is cheaper than SQLite's sleeping busy handler); busy_timeout covers
// other processes. Each product's version number is checked on commit (optimistic concurrency).

#include "allocation/store.hpp"

#include <chrono>
#include <filesystem>
#include <memory>

namespace allocation {

struct sqlite_options {
    std::filesystem::path path = "allocation.db";
    /// How long a unit of work waits for the write lock before failing.
    std::chrono::milliseconds busy_timeout = std::chrono::seconds{5};
};

class sqlite_store final : public store {
public:
    /// Opens (and creates, with its schema) the database file. Throws SQLite::Exception.
    explicit sqlite_store(sqlite_options options);
    explicit sqlite_store(std::filesystem::path path) : sqlite_store{sqlite_options{.path = std::move(path)}} {}
    ~sqlite_store() override;
    sqlite_store(const sqlite_store&) = delete;
    sqlite_store& operator=(const sqlite_store&) = delete;

    [[nodiscard]] std::unique_ptr<store_session> open_session() override;
    [[nodiscard]] const allocations_view& view() const noexcept override;
    [[nodiscard]] const std::filesystem::path& path() const noexcept;

    class impl;  ///< pool, write gate and statements; keeps SQLiteCpp out of this header

private:
    std::shared_ptr<impl> impl_;  ///< shared with open sessions, which may outlive a careless owner
};

}  // namespace allocation
