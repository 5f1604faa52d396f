#pragma once
// Composition root (chapter 13): builds the store and the notifier, registers every allocation
// message and handler on a bus, and returns the application that answers queries.

#include "allocation/notifications.hpp"
#include "allocation/sqlite_store.hpp"
#include "allocation/store.hpp"

#include <cascade/bus.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>

namespace allocation {

struct bootstrap_options {
    store_kind store = store_kind::sqlite;
    std::filesystem::path db_path = "allocation.db";
    sqlite_sync sync = sqlite_sync::normal;  ///< SQLite only
    std::filesystem::path notifications_path = "notifications.log";
    std::shared_ptr<notifications> notifier;  ///< nullptr: the default file notifier
    /// With a store that keeps a journal (SQLite), the bus keeps its cascades there: acks are
    /// durable, the handlers' runs commit with their effects, and bootstrap resumes what a crash
    /// left unfinished. False: the bus keeps no journal.
    bool journal = true;
    /// The journal's group commit: at most this many records per transaction (1: one commit per
    /// record, for comparison). SQLite only.
    std::size_t group_commit_records = 1024;
};

/// The wired allocation service: owns the store (and its read model) and the notifier.
class application {
public:
    application(std::shared_ptr<allocation::store> storage, std::shared_ptr<notifications> notifier,
                std::size_t resumed = 0) noexcept
        : store_{std::move(storage)}, notifier_{std::move(notifier)}, resumed_{resumed} {}

    /// The allocations view of one order: JSON array of {"sku","batchref"}; std::nullopt when
    /// the order has none.
    [[nodiscard]] std::optional<nlohmann::json> allocations(std::string_view orderid) const;

    /// The store the handlers use (for tests, tools and benchmarks).
    [[nodiscard]] allocation::store& storage() const noexcept { return *store_; }
    [[nodiscard]] notifications& notifier() const noexcept { return *notifier_; }
    /// The cascades that bootstrap resumed from the journal.
    [[nodiscard]] std::size_t resumed() const noexcept { return resumed_; }

private:
    std::shared_ptr<allocation::store> store_;
    std::shared_ptr<notifications> notifier_;
    std::size_t resumed_;
};

/// The store of that kind; `db_path` and `sync` are used by SQLite only.
[[nodiscard]] std::shared_ptr<store> make_store(store_kind kind, const std::filesystem::path& db_path,
                                                sqlite_sync sync = sqlite_sync::normal);
/// The store of that kind; `sqlite` is used by SQLite only.
[[nodiscard]] std::shared_ptr<store> make_store(store_kind kind, const sqlite_options& sqlite);

/// Registers every allocation message and handler on `bus` (handle/subscribe), provides the
/// store and notifier as its dependencies, gives the bus the store's journal (if it keeps one and
/// `options.journal`) and resumes the cascades left unfinished there, and returns the wired
/// application. Call it before the first submission, once per bus.
[[nodiscard]] std::shared_ptr<application> bootstrap(cascade::bus& bus, bootstrap_options options);

}  // namespace allocation
