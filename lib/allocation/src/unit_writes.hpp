#pragma once
// What one unit of work writes to the SQLite store, as plain data. It is built on the unit's own
// thread, while the lines it loaded can still be read, and applied on the writing connection: by
// the unit itself when it commits alone, or by the journal's writer, which applies many journaled
// units in one transaction (group commit). Internal: include only from lib/allocation/src.

#include "allocation/views.hpp"

#include <cascade/journal.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace allocation::detail {

struct connection;

/// A product's row: inserted (no stored version) or bumped if it still has the version loaded.
struct product_row {
    std::string sku;
    std::int64_t version = 0;
    std::optional<std::int64_t> stored_version;
};

/// What a batch's row holds besides its key.
struct batch_state {
    int purchased_quantity = 0;
    std::optional<std::string> eta;
    int allocated_quantity = 0;
    std::int64_t line_count = 0;
};

/// A batch's row, inserted, or updated if it still holds what the unit loaded: only allocations
/// bump the product's version, so this check is what catches a stale write of a quantity.
struct batch_row {
    std::string sku;
    std::string reference;
    batch_state now;
    std::optional<batch_state> loaded;  ///< std::nullopt: a new batch
};

/// A batch's lines from `from` on, released: deleted.
struct released_lines {
    std::string sku;
    std::string batchref;
    std::int64_t from = 0;
};

/// One allocated line at its position in its batch.
struct line_row {
    std::string sku;
    std::string batchref;
    std::int64_t position = 0;
    std::string orderid;
    int qty = 0;
};

/// A handler's run as the journal stores it, its JSON already written as text.
struct run_row {
    std::int64_t message = 0;
    std::string handler;
    std::int64_t root = 0;
    std::string result;
    std::string raised;
    std::int64_t last_id = 0;  ///< the highest id among the raised events, 0 when none
};

/// Encodes `run` (its result and raised events as JSON text).
[[nodiscard]] run_row row_of(const cascade::handler_run& run);

/// How a run is written: once (a unit of work: a run recorded already fails its commit, so its
/// effects cannot apply twice), or replacing (the bus's own record of a run it repeated).
enum class run_write : std::uint8_t { once, replacing };

/// Writes `run` on `c`, inside the caller's transaction.
void record_run(connection& c, const run_row& run, run_write how);

struct unit_writes {
    std::vector<product_row> products;
    std::vector<batch_row> batches;
    std::vector<released_lines> released;  ///< applied before `lines`: a moved line leaves first
    std::vector<line_row> lines;
    std::vector<view_change> views;
    std::optional<run_row> run;  ///< the handler's run, journaled with its effects
};

/// Applies `writes` on `c`, inside the caller's transaction. concurrency_error when a product or
/// one of its batches changed (or was added) since the unit loaded it; SQLite::Exception for a
/// run recorded already.
void apply(connection& c, const unit_writes& writes);

}  // namespace allocation::detail
