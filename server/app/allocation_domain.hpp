#pragma once
// The domain cascade-server serves: the book's allocation service, wired onto a bus, with its
// HTTP routes (POST /add_batch, POST /allocate, GET /allocations/{orderid}). Part of the
// cascade-server application (and of the benchmark and tests that run it), not of the gateway.

#include "cascade/bus.hpp"
#include "gateway/http_router.hpp"

#include <allocation/sqlite_store.hpp>

#include <filesystem>
#include <memory>
#include <string>

namespace cascade_server {

enum class store_choice : std::uint8_t { memory, sqlite };

struct domain_options {
    store_choice store = store_choice::sqlite;
    std::filesystem::path db_path = "allocation.db";
    allocation::sqlite_sync sync = allocation::sqlite_sync::normal;
    std::filesystem::path notifications_path = "notifications.log";
    std::size_t group_commit_records = 1024;  ///< the journal's records per transaction at most (SQLite)
};

/// A domain wired onto a bus.
struct app_domain {
    std::shared_ptr<void> state;  ///< keeps the domain's application (store, notifier) alive
    gateway::routes http_routes;  ///< the domain's HTTP routes, for the server's `extra`
    std::string description;      ///< for the start-up log line
    std::size_t resumed = 0;      ///< cascades resumed from the journal
};

/// Registers the allocation domain's messages and handlers on `bus` (before its first submission)
/// and returns its routes.
[[nodiscard]] app_domain load_allocation_domain(cascade::bus& bus, const domain_options& options);

}  // namespace cascade_server
