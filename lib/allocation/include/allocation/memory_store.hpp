#pragma once
// The store in memory: for tests and benchmarks. Thread-safe; a unit of work works on copies and
// its commit swaps them in under one mutex, checking that nobody committed the product meanwhile.

#include "allocation/store.hpp"

#include <cascade/string_map.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>

namespace allocation {

class memory_allocations_view final : public allocations_view {
public:
    [[nodiscard]] std::vector<allocation_row> find(std::string_view orderid) const override;

    /// Applies a committed unit's changes, in order.
    void apply(std::span<const view_change> changes);

private:
    void place(const std::string& orderid, const std::string& sku, const std::string& batchref);
    void remove(const std::string& orderid, const std::string& sku);

    mutable std::mutex mutex_;
    cascade::string_map<std::map<std::string, std::string, std::less<>>> orders_;  ///< rows of an order by SKU
};

class memory_store final : public store {
public:
    /// Products are immutable once stored: a commit replaces the pointer, so a session can tell
    /// "unchanged since I loaded it" by identity.
    using product_ptr = std::shared_ptr<const product>;

    [[nodiscard]] std::unique_ptr<store_session> open_session(unit_kind kind) override;
    [[nodiscard]] const allocations_view& view() const noexcept override { return view_; }

private:
    class session;

    std::mutex mutex_;
    cascade::string_map<product_ptr> products_;
    memory_allocations_view view_;
};

}  // namespace allocation
