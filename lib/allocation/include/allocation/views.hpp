#pragma once
// The read model of chapter 12: which batch each line of an order went to, read without touching
// the products. A unit of work writes it in the same transaction as the products whose events it
// reflects (view_projection.hpp), so a committed allocation is never missing from it.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace allocation {

struct allocation_row {
    std::string sku;
    std::string batchref;
    friend bool operator==(const allocation_row&, const allocation_row&) = default;
};

/// One change to the view: the order's line of `sku` is now in `batchref`, or in no batch.
struct view_change {
    std::string orderid;
    std::string sku;
    std::optional<std::string> batchref;  ///< std::nullopt: the row goes
    friend bool operator==(const view_change&, const view_change&) = default;
};

/// The allocations view, one row per (order, SKU), as committed. Thread-safe.
class allocations_view {
public:
    virtual ~allocations_view() = default;

    /// The order's rows by SKU; empty when the order has none.
    [[nodiscard]] virtual std::vector<allocation_row> find(std::string_view orderid) const = 0;

protected:
    allocations_view() = default;
    allocations_view(const allocations_view&) = default;
    allocations_view& operator=(const allocations_view&) = default;
};

}  // namespace allocation
