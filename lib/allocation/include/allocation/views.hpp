#pragma once
// The read model of chapter 12: which batch each line of an order went to, kept current by the
// Allocated and Deallocated handlers and read without touching the products.

#include <string>
#include <string_view>
#include <vector>

namespace allocation {

struct allocation_row {
    std::string sku;
    std::string batchref;
    friend bool operator==(const allocation_row&, const allocation_row&) = default;
};

/// The allocations view, one row per (order, SKU). Thread-safe.
class allocations_view {
public:
    virtual ~allocations_view() = default;

    /// Records (or moves) the order's line of `sku` to `batchref`.
    virtual void add(std::string_view orderid, std::string_view sku, std::string_view batchref) = 0;
    /// Forgets the order's line of `sku`, if any.
    virtual void remove(std::string_view orderid, std::string_view sku) = 0;
    /// The order's rows by SKU; empty when the order has none.
    [[nodiscard]] virtual std::vector<allocation_row> find(std::string_view orderid) const = 0;

protected:
    allocations_view() = default;
    allocations_view(const allocations_view&) = default;
    allocations_view& operator=(const allocations_view&) = default;
};

}  // namespace allocation
