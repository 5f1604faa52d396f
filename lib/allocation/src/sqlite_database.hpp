#pragma once
// The SQLite store's database: pooled connections with their prepared statements, and the
// in-process write gate, shared by the store's sessions and its journal.
// Internal: include only from lib/allocation/src.

#include "allocation/sqlite_store.hpp"
#include "allocation/views.hpp"
#include "sqlite_schema.hpp"
#include "wal_checkpointer.hpp"
#include "write_gate.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <nlohmann/json.hpp>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <sqlite3.h>
#include <string>
#include <thread>
#include <vector>

namespace allocation {
namespace detail {

[[nodiscard]] inline SQLite::Database open_database(const sqlite_options& options) {
    SQLite::Database db{options.path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE,
                        static_cast<int>(options.busy_timeout.count())};
    // NORMAL is the setting WAL is designed for: a commit survives a crash of the process.
    db.exec(options.sync == sqlite_sync::full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA foreign_keys = ON");
    return db;
}

/// JSON text that never throws for invalid UTF-8 in a string (replaced, as on the wire).
[[nodiscard]] inline std::string json_text(const nlohmann::json& value) {
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

/// One connection with its prepared statements.
struct connection {
    explicit connection(const sqlite_options& options) : db{open_database(options)} {}

    /// False when a failed rollback left it inside a transaction: it must not be reused.
    [[nodiscard]] bool reusable() const noexcept { return sqlite3_get_autocommit(db.getHandle()) != 0; }

    SQLite::Database db;
    SQLite::Statement begin{db, "BEGIN IMMEDIATE"};
    SQLite::Statement begin_read{db, "BEGIN"};  ///< a snapshot from the first read on
    SQLite::Statement commit{db, "COMMIT"};
    SQLite::Statement rollback{db, "ROLLBACK"};
    SQLite::Statement savepoint{db, "SAVEPOINT unit"};
    SQLite::Statement release_savepoint{db, "RELEASE unit"};
    SQLite::Statement rollback_to_savepoint{db, "ROLLBACK TO unit"};
    SQLite::Statement begin_prune{db, "SAVEPOINT prune"};
    SQLite::Statement end_prune{db, "RELEASE prune"};
    SQLite::Statement undo_prune{db, "ROLLBACK TO prune"};
    SQLite::Statement select_product{db, "SELECT version_number FROM products WHERE sku = ?1"};
    SQLite::Statement select_batches{db,
                                     "SELECT reference, purchased_quantity, eta, allocated_quantity, line_count "
                                     "FROM batches WHERE sku = ?1 ORDER BY rowid"};
    SQLite::Statement select_line_of_order{
        db, "SELECT position, qty FROM allocations WHERE orderid = ?1 AND sku = ?2 AND batchref = ?3"};
    SQLite::Statement select_lines{db,
                                   "SELECT orderid, qty FROM allocations WHERE sku = ?1 AND batchref = ?2 "
                                   "AND position >= ?3 AND position < ?4 ORDER BY position"};
    SQLite::Statement insert_product{
        db, "INSERT INTO products (sku, version_number) VALUES (?1, ?2) ON CONFLICT (sku) DO NOTHING"};
    SQLite::Statement update_version{db,
                                     "UPDATE products SET version_number = ?2 WHERE sku = ?1 AND version_number = ?3"};
    SQLite::Statement insert_batch{db,
                                   "INSERT INTO batches (sku, reference, purchased_quantity, eta, allocated_quantity, "
                                   "line_count) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"};
    SQLite::Statement update_batch{db,
                                   "UPDATE batches SET purchased_quantity = ?3, eta = ?4, allocated_quantity = ?5, "
                                   "line_count = ?6 WHERE sku = ?1 AND reference = ?2 AND purchased_quantity = ?7 "
                                   "AND eta IS ?8 AND allocated_quantity = ?9 AND line_count = ?10"};
    SQLite::Statement insert_allocation{
        db, "INSERT INTO allocations (sku, batchref, position, orderid, qty) VALUES (?1, ?2, ?3, ?4, ?5)"};
    SQLite::Statement delete_allocations_from{
        db, "DELETE FROM allocations WHERE sku = ?1 AND batchref = ?2 AND position >= ?3"};
    SQLite::Statement upsert_view{db,
                                  "INSERT INTO allocations_view (orderid, sku, batchref) VALUES (?1, ?2, ?3) "
                                  "ON CONFLICT (orderid, sku) DO UPDATE SET batchref = excluded.batchref"};
    SQLite::Statement delete_view{db, "DELETE FROM allocations_view WHERE orderid = ?1 AND sku = ?2"};
    SQLite::Statement select_view{db, "SELECT sku, batchref FROM allocations_view WHERE orderid = ?1 ORDER BY sku"};

    // The journal (sqlite_journal.hpp).
    SQLite::Statement insert_submit{db,
                                    "INSERT INTO journal_submits (id, key, name, data, accepted_ms, principal) "
                                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING"};
    SQLite::Statement insert_run{db,
                                 "INSERT INTO journal_runs (message_id, handler, root, result, raised, "
                                 "last_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"};
    SQLite::Statement replace_run{db,
                                  "INSERT OR REPLACE INTO journal_runs (message_id, handler, root, result, raised, "
                                  "last_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"};
    SQLite::Statement finish_submit{
        db, "UPDATE journal_submits SET outcome = ?2, finished_ms = ?3 WHERE id = ?1 AND outcome IS NULL"};
    SQLite::Statement select_run{db, "SELECT result, raised FROM journal_runs WHERE message_id = ?1 AND handler = ?2"};
    SQLite::Statement select_submit_by_key{
        db, "SELECT id, name, data, outcome, principal FROM journal_submits WHERE key = ?1"};
    SQLite::Statement select_unfinished{
        db, "SELECT id, key, name, data, principal FROM journal_submits WHERE outcome IS NULL ORDER BY id"};
    SQLite::Statement select_last_id{db,
                                     "SELECT MAX((SELECT COALESCE(MAX(id), 0) FROM journal_submits), "
                                     "(SELECT COALESCE(MAX(last_id), 0) FROM journal_runs))"};
    SQLite::Statement prune_runs{
        db, "DELETE FROM journal_runs WHERE root IN (SELECT id FROM journal_submits WHERE finished_ms < ?1)"};
    SQLite::Statement prune_submits{db, "DELETE FROM journal_submits WHERE finished_ms < ?1"};
    SQLite::Statement insert_letter{db, "INSERT OR REPLACE INTO journal_letters (id, letter) VALUES (?1, ?2)"};
    SQLite::Statement delete_letter{db, "DELETE FROM journal_letters WHERE id = ?1"};
    SQLite::Statement select_letters{db, "SELECT id, letter FROM journal_letters ORDER BY id"};
};

/// Resets a statement when the scope ends, so that no cursor keeps a read snapshot open.
class statement_scope {
public:
    explicit statement_scope(SQLite::Statement& statement) noexcept : statement_{&statement} {}
    ~statement_scope() { statement_->tryReset(); }
    statement_scope(const statement_scope&) = delete;
    statement_scope& operator=(const statement_scope&) = delete;
    SQLite::Statement& operator*() const noexcept { return *statement_; }
    SQLite::Statement* operator->() const noexcept { return statement_; }

private:
    SQLite::Statement* statement_;
};

inline void run(SQLite::Statement& statement) {
    const statement_scope scope{statement};
    scope->exec();
}

}  // namespace detail

class sqlite_store::impl {
public:
    /// A pooled connection, given back when the lease ends.
    class lease {
    public:
        lease(impl& owner, std::unique_ptr<detail::connection> conn) noexcept
            : owner_{&owner}, conn_{std::move(conn)} {}
        ~lease() { owner_->give_back(std::move(conn_)); }
        lease(lease&&) noexcept = default;  // the moved-from lease gives back nothing
        lease& operator=(lease&&) = delete;
        detail::connection& operator*() const noexcept { return *conn_; }
        detail::connection* operator->() const noexcept { return conn_.get(); }

    private:
        impl* owner_;
        std::unique_ptr<detail::connection> conn_;
    };

    /// The right to write, with the one connection that writes, given back when the permit ends.
    /// Every writer (units of work, the journal's writer thread) uses that connection, so its page
    /// cache stays valid from one transaction to the next: with a connection per unit, each
    /// transaction found its cache stale after the last one's writes and read its pages again.
    class write_permit {
    public:
        explicit write_permit(impl& owner, detail::gate_turn turn = detail::gate_turn::normal) : owner_{&owner} {
            if (!owner.gate_.try_acquire_for(owner.options_.busy_timeout, turn)) {
                throw SQLite::Exception{"database is locked: no write lock within the busy timeout", SQLITE_BUSY};
            }
        }
        ~write_permit() { owner_->release_writer(); }
        write_permit(const write_permit&) = delete;
        write_permit& operator=(const write_permit&) = delete;

        [[nodiscard]] detail::connection& connection() const { return owner_->writer(); }

    private:
        impl* owner_;
    };

    explicit impl(sqlite_options options) : options_{std::move(options)}, view_{*this} {
        SQLite::Database db = detail::open_database(options_);
        db.exec("PRAGMA journal_mode = WAL");  // persistent: recorded in the file
        detail::create_or_upgrade_schema(db);
        checkpointer_.emplace(detail::open_database(options_), [this](const std::function<void()>& checkpoint) {
            const write_permit held{*this, detail::gate_turn::first};
            checkpoint();
        });
    }

    [[nodiscard]] lease acquire() {
        {
            const std::scoped_lock lock{pool_mutex_};
            if (!idle_.empty()) {
                auto conn = std::move(idle_.back());
                idle_.pop_back();
                return lease{*this, std::move(conn)};
            }
        }
        return lease{*this, std::make_unique<detail::connection>(options_)};
    }

    [[nodiscard]] const sqlite_options& options() const noexcept { return options_; }
    [[nodiscard]] const allocations_view& view() const noexcept { return view_; }

    ~impl() {
        // Stopped first: a checkpoint in progress may hold the gate, whose release reads writer_.
        if (writer_) {
            sqlite3_wal_hook(writer_->db.getHandle(), nullptr, nullptr);
        }
        checkpointer_.reset();
    }
    impl(const impl&) = delete;
    impl& operator=(const impl&) = delete;

private:
    /// The read model in the same file, written by the sessions' commits.
    class view_table final : public allocations_view {
    public:
        explicit view_table(impl& owner) noexcept : owner_{&owner} {}

        [[nodiscard]] std::vector<allocation_row> find(std::string_view orderid) const override {
            const lease conn = owner_->acquire();  // readers never wait for the writer in WAL mode
            const detail::statement_scope scope{conn->select_view};
            scope->bind(1, std::string{orderid});
            std::vector<allocation_row> rows;
            while (scope->executeStep()) {
                rows.push_back({scope->getColumn(0).getString(), scope->getColumn(1).getString()});
            }
            return rows;
        }

    private:
        impl* owner_;
    };

    static constexpr std::size_t max_idle = 8;

    /// Under the gate only.
    [[nodiscard]] detail::connection& writer() {
        if (!writer_) {
            writer_ = std::make_unique<detail::connection>(options_);
            checkpointer_->watch(writer_->db);
        }
        return *writer_;
    }

    void release_writer() noexcept {
        if (writer_ && !writer_->reusable()) {
            writer_.reset();  // a failed rollback left it in a transaction: closing it rolls back
        }
        gate_.release();
    }

    void give_back(std::unique_ptr<detail::connection> conn) noexcept {
        if (!conn || !conn->reusable()) {
            return;  // closing it rolls back whatever it still held
        }
        const std::scoped_lock lock{pool_mutex_};
        if (idle_.size() < max_idle) {
            idle_.push_back(std::move(conn));
        }
    }

    sqlite_options options_;
    detail::write_gate gate_;
    std::optional<detail::wal_checkpointer> checkpointer_;  ///< outlives writer_, whose WAL it checkpoints
    std::unique_ptr<detail::connection> writer_;            ///< the connection that writes, under gate_

    std::mutex pool_mutex_;
    std::vector<std::unique_ptr<detail::connection>> idle_;
    view_table view_;
};

}  // namespace allocation
