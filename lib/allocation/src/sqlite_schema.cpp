#include "sqlite_schema.hpp"

#include <SQLiteCpp/Transaction.h>

#include <stdexcept>
#include <string>

namespace allocation::detail {
namespace {

// Batches come back in rowid order, the order they were added in (it breaks ETA ties), with the
// sum and count of their lines: what an allocation decides on, so loading a product does not read
// its lines. A line's `position` is its place in its batch, oldest first (a shrinking batch lets
// the newest go), and (sku, batchref, position) finds it; UNIQUE (orderid, sku) finds an order's
// line and makes "a line is never allocated twice" the database's rule too.
constexpr const char* schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS products (
    sku            TEXT PRIMARY KEY,
    version_number INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
    sku                TEXT NOT NULL REFERENCES products (sku),
    reference          TEXT NOT NULL,
    purchased_quantity INTEGER NOT NULL CHECK (purchased_quantity >= 0),
    eta                TEXT,
    allocated_quantity INTEGER NOT NULL DEFAULT 0,
    line_count         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (sku, reference)
);
CREATE TABLE IF NOT EXISTS allocations (
    sku      TEXT NOT NULL,
    batchref TEXT NOT NULL,
    position INTEGER NOT NULL,
    orderid  TEXT NOT NULL,
    qty      INTEGER NOT NULL CHECK (qty > 0),
    PRIMARY KEY (sku, batchref, position),
    UNIQUE (orderid, sku),
    FOREIGN KEY (sku, batchref) REFERENCES batches (sku, reference)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS allocations_view (
    orderid  TEXT NOT NULL,
    sku      TEXT NOT NULL,
    batchref TEXT NOT NULL,
    PRIMARY KEY (orderid, sku)
);
CREATE TABLE IF NOT EXISTS journal_submits (
    id          INTEGER PRIMARY KEY,
    key         TEXT UNIQUE,
    name        TEXT NOT NULL,
    data        TEXT NOT NULL,
    accepted_ms INTEGER NOT NULL,
    outcome     TEXT,
    finished_ms INTEGER,
    principal   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS journal_unfinished ON journal_submits (id) WHERE outcome IS NULL;
CREATE INDEX IF NOT EXISTS journal_finished_at ON journal_submits (finished_ms) WHERE finished_ms IS NOT NULL;
CREATE TABLE IF NOT EXISTS journal_runs (
    message_id INTEGER NOT NULL,
    handler    TEXT NOT NULL,
    root       INTEGER NOT NULL,
    result     TEXT NOT NULL,
    raised     TEXT NOT NULL,
    last_id    INTEGER NOT NULL,
    PRIMARY KEY (message_id, handler)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS journal_runs_by_root ON journal_runs (root);
CREATE TABLE IF NOT EXISTS journal_letters (
    id     INTEGER PRIMARY KEY,
    letter TEXT NOT NULL
);
)sql";

// Schema 1 added the batches' allocated_quantity and line_count, and wrote the allocations view
// with the products; a file of schema 0 gets the columns here, and its view, which a crash may
// have left behind its allocations, is rebuilt from them. Schema 2 added the journal's tables
// (journal_submits: each submit and its outcome; journal_runs: each handler run with the events it
// raised), which schema_sql creates in an older file as in a new one; schema 3 the dead letters
// (journal_letters: each in its wire form), likewise. Schema 4 added journal_submits.principal
// (who submitted: recovery puts it back on the envelope); an older journal_submits gets the column
// here, '' (unknown) for the submits it holds.
constexpr int schema_version = 4;
constexpr const char* add_batch_totals_sql = R"sql(
ALTER TABLE batches ADD COLUMN allocated_quantity INTEGER NOT NULL DEFAULT 0;
ALTER TABLE batches ADD COLUMN line_count INTEGER NOT NULL DEFAULT 0;
UPDATE batches SET
    allocated_quantity = (SELECT COALESCE(SUM(qty), 0) FROM allocations a
                          WHERE a.sku = batches.sku AND a.batchref = batches.reference),
    line_count = (SELECT COUNT(*) FROM allocations a WHERE a.sku = batches.sku AND a.batchref = batches.reference);
DELETE FROM allocations_view;
INSERT INTO allocations_view (orderid, sku, batchref) SELECT orderid, sku, batchref FROM allocations;
)sql";
constexpr const char* add_submit_principal_sql =
    "ALTER TABLE journal_submits ADD COLUMN principal TEXT NOT NULL DEFAULT ''";

[[nodiscard]] bool has_column(SQLite::Database& db, const std::string& table, const std::string& column) {
    SQLite::Statement query{db, "SELECT COUNT(*) FROM pragma_table_info(?1) WHERE name = ?2"};
    query.bind(1, table);
    query.bind(2, column);
    return query.executeStep() && query.getColumn(0).getInt() != 0;
}

}  // namespace

void create_or_upgrade_schema(SQLite::Database& db) {
    // IMMEDIATE: two processes opening an old file upgrade it one after the other, not into a
    // lock conflict that the busy timeout cannot resolve.
    SQLite::Transaction transaction{db, SQLite::TransactionBehavior::IMMEDIATE};
    db.exec(schema_sql);
    const int version = db.execAndGet("PRAGMA user_version").getInt();
    if (version > schema_version) {
        throw std::runtime_error{"the database has schema " + std::to_string(version) + "; this build knows up to " +
                                 std::to_string(schema_version)};
    }
    if (version < schema_version) {
        // Each step checks the columns rather than the version: a step is taken once, whatever the
        // file's history.
        if (!has_column(db, "batches", "allocated_quantity")) {
            db.exec(add_batch_totals_sql);
        }
        if (!has_column(db, "journal_submits", "principal")) {
            db.exec(add_submit_principal_sql);
        }
        db.exec("PRAGMA user_version = " + std::to_string(schema_version));
    }
    transaction.commit();
}

}  // namespace allocation::detail
