#include "allocation/view_projection.hpp"

#include "allocation/messages.hpp"

namespace allocation {

std::optional<view_change> view_change_of(const cascade::any_message& event) {
    if (const auto* placed = event.get_if<allocated>()) {
        return view_change{placed->orderid, placed->sku, placed->batchref};
    }
    if (const auto* released = event.get_if<deallocated>()) {
        return view_change{released->orderid, released->sku, std::nullopt};
    }
    return std::nullopt;
}

std::vector<view_change> view_changes_of(std::span<const cascade::any_message> events) {
    std::vector<view_change> changes;
    for (const auto& event : events) {
        if (auto change = view_change_of(event)) {
            changes.push_back(std::move(*change));
        }
    }
    return changes;
}

}  // namespace allocation
