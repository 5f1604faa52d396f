#pragma once
// The store in memory: for tests and benchmarks. Thread-safe; a unit of work works on copies and
// its commit swaps them in under one mutex, checking that nobody committed the product meanwhile.

#include "allocation/store.hpp"
#include "allocation/string_map.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace allocation {

class memory_allocations_view final : public allocations_view {
public:
    void add(std::string_view orderid, std::string_view sku, std::string_view batchref) override;
    void remove(std::string_view orderid, std::string_view sku) override;
    [[nodiscard]] std::vector<allocation_row> find(std::string_view orderid) const override;

private:
    mutable std::mutex mutex_;
    string_map<std::map<std::string, std::string, std::less<>>> orders_;  ///< rows of an order by SKU
};

class memory_store final : public store {
public:
    /// Products are immutable once stored: a commit replaces the pointer, so a session can tell
    /// "unchanged since I loaded it" by identity.
    using product_ptr = std::shared_ptr<const product>;

    [[nodiscard]] std::unique_ptr<store_session> open_session() override;
    [[nodiscard]] allocations_view& view() noexcept override { return view_; }

private:
    class session;

    std::mutex mutex_;
    string_map<product_ptr> products_;
    memory_allocations_view view_;
};

}  // namespace allocation
