#include "allocation/memory_store.hpp"

#include "allocation/errors.hpp"

#include <algorithm>
#include <ranges>
#include <vector>

namespace allocation {

void memory_allocations_view::apply(std::span<const view_change> changes) {
    const std::scoped_lock lock{mutex_};
    for (const view_change& change : changes) {
        if (change.batchref) {
            place(change.orderid, change.sku, *change.batchref);
        } else {
            remove(change.orderid, change.sku);
        }
    }
}

void memory_allocations_view::place(const std::string& orderid, const std::string& sku, const std::string& batchref) {
    auto order = orders_.find(orderid);
    if (order == orders_.end()) {
        order = orders_.emplace(orderid, std::map<std::string, std::string, std::less<>>{}).first;
    }
    order->second.insert_or_assign(sku, batchref);
}

void memory_allocations_view::remove(const std::string& orderid, const std::string& sku) {
    const auto order = orders_.find(orderid);
    if (order == orders_.end()) {
        return;
    }
    if (const auto row = order->second.find(sku); row != order->second.end()) {
        order->second.erase(row);
    }
    if (order->second.empty()) {
        orders_.erase(order);  // no rows, no order: idle orders cost nothing
    }
}

std::vector<allocation_row> memory_allocations_view::find(std::string_view orderid) const {
    const std::scoped_lock lock{mutex_};
    std::vector<allocation_row> rows;
    if (const auto order = orders_.find(orderid); order != orders_.end()) {
        for (const auto& [sku, batchref] : order->second) {
            rows.push_back({sku, batchref});
        }
    }
    return rows;
}

/// Works on copies; remembers which stored object each copy came from.
class memory_store::session final : public store_session {
public:
    explicit session(memory_store& owner) noexcept : owner_{&owner} {}

    std::optional<product> load(std::string_view sku) override {
        const std::scoped_lock lock{owner_->mutex_};
        const auto it = owner_->products_.find(sku);
        if (it == owner_->products_.end()) {
            return std::nullopt;
        }
        if (const auto seen = find_loaded(sku); seen != loaded_.end()) {
            *seen = it->second;
        } else {
            loaded_.push_back(it->second);
        }
        return *it->second;
    }

    std::uint64_t commit(std::span<tracked_product* const> products, std::span<const view_change> view_changes,
                         const cascade::handler_run* /*run: this store keeps no journal*/) override {
        const std::scoped_lock lock{owner_->mutex_};
        // Check everything before changing anything: all or nothing.
        for (const tracked_product* tracked : products) {
            if (!unchanged_since_loaded(*tracked)) {
                throw concurrency_error{tracked->current.sku()};
            }
        }
        for (tracked_product* tracked : products) {
            // Kept, not copied: the unit of work is over, and its events were taken before.
            std::string sku = tracked->current.sku();
            owner_->products_.insert_or_assign(std::move(sku),
                                               std::make_shared<const product>(std::move(tracked->current)));
        }
        owner_->view_.apply(view_changes);  // under the store's lock: views change in commit order
        return 0;
    }

    void rollback() noexcept override {}  // nothing was shared before commit

private:
    [[nodiscard]] bool unchanged_since_loaded(const tracked_product& tracked) {
        const auto stored = owner_->products_.find(tracked.current.sku());
        if (!tracked.stored_version) {
            return stored == owner_->products_.end();  // added: nobody else may have added it
        }
        const auto loaded = find_loaded(tracked.current.sku());
        // The version check of the book, plus identity: any commit in between replaced the pointer.
        return stored != owner_->products_.end() && loaded != loaded_.end() && stored->second == *loaded &&
               stored->second->version_number() == *tracked.stored_version;
    }

    [[nodiscard]] std::vector<product_ptr>::iterator find_loaded(std::string_view sku) {
        return std::ranges::find_if(loaded_, [sku](const product_ptr& p) { return p->sku() == sku; });
    }

    memory_store* owner_;
    std::vector<product_ptr> loaded_;  ///< a unit of work loads a product or two: no map needed
};

std::unique_ptr<store_session> memory_store::open_session(unit_kind /*kind*/) {
    return std::make_unique<session>(*this);
}

}  // namespace allocation
