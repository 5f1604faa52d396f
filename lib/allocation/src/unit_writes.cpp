#include "unit_writes.hpp"

#include "allocation/errors.hpp"
#include "sqlite_database.hpp"

#include <SQLiteCpp/VariadicBind.h>

#include <algorithm>

namespace allocation::detail {
namespace {

void write_product(connection& c, const product_row& row) {
    const statement_scope scope{row.stored_version ? c.update_version : c.insert_product};
    scope->bind(1, row.sku);
    scope->bind(2, row.version);
    if (row.stored_version) {
        scope->bind(3, *row.stored_version);
    }
    if (scope->exec() == 0) {
        throw concurrency_error{row.sku};  // changed, or added by someone else, since it was loaded
    }
}

void bind_state(SQLite::Statement& statement, int first, const batch_state& state) {
    statement.bind(first, state.purchased_quantity);
    if (state.eta) {
        statement.bind(first + 1, *state.eta);
    } else {
        statement.bind(first + 1);  // NULL: no ETA
    }
    statement.bind(first + 2, state.allocated_quantity);
    statement.bind(first + 3, state.line_count);
}

void write_batch(connection& c, const batch_row& row) {
    const statement_scope scope{row.loaded ? c.update_batch : c.insert_batch};
    SQLite::bind(*scope, row.sku, row.reference);
    bind_state(*scope, 3, row.now);
    if (row.loaded) {
        bind_state(*scope, 7, *row.loaded);
    }
    if (scope->exec() == 0) {
        throw concurrency_error{row.sku};  // the batch changed since it was loaded
    }
}

void release_lines(connection& c, const released_lines& released) {
    const statement_scope scope{c.delete_allocations_from};
    SQLite::bind(*scope, released.sku, released.batchref, released.from);
    scope->exec();
}

void write_line(connection& c, const line_row& line) {
    const statement_scope scope{c.insert_allocation};
    SQLite::bind(*scope, line.sku, line.batchref, line.position, line.orderid, line.qty);
    scope->exec();
}

void write_view(connection& c, const view_change& change) {
    const statement_scope scope{change.batchref ? c.upsert_view : c.delete_view};
    scope->bind(1, change.orderid);
    scope->bind(2, change.sku);
    if (change.batchref) {
        scope->bind(3, *change.batchref);
    }
    scope->exec();
}

[[nodiscard]] nlohmann::json raised_to_json(const std::vector<cascade::raised_event>& raised) {
    auto events = nlohmann::json::array();
    for (const auto& event : raised) {
        events.push_back({{"id", event.id}, {"name", event.message.name()}, {"data", event.message.data()}});
    }
    return events;
}

}  // namespace

run_row row_of(const cascade::handler_run& run) {
    cascade::message_id last_id = 0;
    for (const auto& event : run.raised) {
        last_id = std::max(last_id, event.id);
    }
    return {.message = static_cast<std::int64_t>(run.message),
            .handler = run.handler,
            .root = static_cast<std::int64_t>(run.root),
            .result = json_text(run.result),
            .raised = json_text(raised_to_json(run.raised)),
            .last_id = static_cast<std::int64_t>(last_id)};
}

void record_run(connection& c, const run_row& run, run_write how) {
    const statement_scope scope{how == run_write::once ? c.insert_run : c.replace_run};
    SQLite::bind(*scope, run.message, run.handler, run.root, run.result, run.raised, run.last_id);
    scope->exec();
}

void apply(connection& c, const unit_writes& writes) {
    for (const auto& row : writes.products) {
        write_product(c, row);
    }
    for (const auto& row : writes.batches) {
        write_batch(c, row);
    }
    for (const auto& released : writes.released) {
        release_lines(c, released);
    }
    for (const auto& line : writes.lines) {
        write_line(c, line);
    }
    for (const auto& change : writes.views) {
        write_view(c, change);
    }
    if (writes.run) {
        record_run(c, *writes.run, run_write::once);
    }
}

}  // namespace allocation::detail
