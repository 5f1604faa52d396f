#pragma once
// How the domain's events change the allocations view: the projection of chapter 12, applied by
// the unit of work inside its own transaction rather than by a later handler.

#include "allocation/views.hpp"

#include <cascade/message.hpp>

#include <optional>
#include <span>
#include <vector>

namespace allocation {

/// Allocated places the line in its batch, Deallocated removes it; other events change nothing.
[[nodiscard]] std::optional<view_change> view_change_of(const cascade::any_message& event);

/// The changes of `events`, in their order.
[[nodiscard]] std::vector<view_change> view_changes_of(std::span<const cascade::any_message> events);

}  // namespace allocation
