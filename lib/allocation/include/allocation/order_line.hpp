#pragma once
// What a customer orders of one SKU.

#include <string>

namespace allocation {

/// A customer's need for `qty` units of `sku`. An order has at most one line per SKU:
/// (orderid, sku) identifies the line.
struct order_line {
    std::string orderid;
    std::string sku;
    int qty{};
    friend bool operator==(const order_line&, const order_line&) = default;
};

}  // namespace allocation
