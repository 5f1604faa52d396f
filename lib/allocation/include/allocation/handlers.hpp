#pragma once
// The handlers of chapter 9–12 as bus coroutines. Each opens its own unit of work on the
// store found in the context's dependencies (allocation::store; notifications for the notifier).

#include "allocation/messages.hpp"

#include <cascade/context.hpp>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include <string_view>

namespace allocation::handlers {

/// Where out-of-stock notifications are sent (the book's address).
inline constexpr std::string_view stock_destination = "stock@made.com";

/// BatchCreated: adds the batch, creating the product on its first batch.
[[nodiscard]] boost::asio::awaitable<void> add_batch(const batch_created& cmd, cascade::context& ctx);

/// AllocationRequired: the batch reference, or null when out of stock; invalid_sku fails it.
[[nodiscard]] boost::asio::awaitable<nlohmann::json> allocate(const allocation_required& cmd, cascade::context& ctx);

/// BatchQuantityChanged: changes the quantity; the lines that no longer fit are Deallocated.
[[nodiscard]] boost::asio::awaitable<void> change_batch_quantity(const batch_quantity_changed& cmd,
                                                                 cascade::context& ctx);

/// Deallocated: allocates the line again (Allocated or OutOfStock follows).
[[nodiscard]] boost::asio::awaitable<void> reallocate(const deallocated& evt, cascade::context& ctx);

/// OutOfStock: tells the buyers.
[[nodiscard]] boost::asio::awaitable<void> send_out_of_stock_notification(const out_of_stock& evt,
                                                                          cascade::context& ctx);

}  // namespace allocation::handlers
