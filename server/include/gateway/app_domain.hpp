#pragma once
// The domain cascade-server serves: the book's allocation service, wired onto a bus, with its
// HTTP routes (POST /add_batch, POST /allocate, GET /allocations/{orderid}). The gateway's core
// does not depend on it; this is the adapter that main() and the benchmark use.

#include "gateway/http.hpp"

#include "cascade/bus.hpp"

#include <filesystem>
#include <memory>
#include <string>

namespace gateway {

enum class store_choice : std::uint8_t { memory, sqlite };

struct domain_options {
    store_choice store = store_choice::sqlite;
    std::filesystem::path db_path = "allocation.db";
    std::filesystem::path notifications_path = "notifications.log";
};

/// A domain wired onto a bus.
struct app_domain {
    std::shared_ptr<void> state;  ///< keeps the domain's application (store, notifier) alive
    routes http_routes;           ///< the domain's HTTP routes, for server's `extra`
    std::string description;      ///< for the start-up log line
};

/// Registers the allocation domain's messages and handlers on `bus` (before its first submission)
/// and returns its routes. Throws std::runtime_error when this build has no allocation domain.
[[nodiscard]] app_domain load_allocation_domain(cascade::bus& bus, const domain_options& options);

}  // namespace gateway
