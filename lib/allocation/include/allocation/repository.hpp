#pragma once
// The repository of products (chapter 2): add and get by SKU, through the open transaction of a
// unit of work, remembering every product it has seen so that the unit can store them and
// collect their events.

#include "allocation/model.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace allocation {

class store_session;

/// A product a unit of work has seen, with the version the store held when it was loaded.
struct tracked_product {
    product current;
    std::optional<std::int64_t> stored_version;  ///< std::nullopt: added by this unit, not stored yet
};

class repository {
public:
    explicit repository(store_session& session) noexcept : session_{&session} {}

    /// Tracks a new product; the unit's commit stores it. std::invalid_argument when the SKU
    /// already has a product.
    product& add(product p);

    /// The product of `sku`, loaded at most once per unit of work; nullptr when there is none.
    [[nodiscard]] product* get(std::string_view sku);

    /// Everything seen so far, by SKU.
    [[nodiscard]] std::vector<tracked_product*> seen();

    /// Called by the unit of work when its transaction ends: loading new products is a
    /// std::logic_error from then on, and after a commit the seen ones are the store's.
    void close() noexcept { session_ = nullptr; }

private:
    store_session* session_;
    std::map<std::string, tracked_product, std::less<>> seen_;  ///< node-based: references stay valid
};

}  // namespace allocation
