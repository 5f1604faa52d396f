#pragma once
// The dead letters kept for listing: the newest, up to a capacity.
// Internal: include only from lib/cascade/src.

#include "cascade/dead_letter.hpp"

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

namespace cascade::detail {

class dead_letter_box {
public:
    explicit dead_letter_box(std::size_t capacity) noexcept : capacity_{capacity} {}

    /// Numbers `letter` (sets its id) and keeps a copy, pushing out the oldest when full; returns
    /// the id of the letter pushed out. Nothing is kept (and the id stays 0) with capacity 0.
    [[nodiscard]] std::optional<std::uint64_t> keep(dead_letter& letter);
    /// The letters a journal kept (a restart): the newest up to the capacity; numbering goes on
    /// above them. Returns the ids of those that did not fit.
    [[nodiscard]] std::vector<std::uint64_t> restore(std::vector<dead_letter> letters);
    [[nodiscard]] std::vector<dead_letter> list() const;

    /// Removes and returns the letter numbered `id`, or std::nullopt when it is not kept.
    [[nodiscard]] std::optional<dead_letter> take(std::uint64_t id);
    /// Returns a taken letter to its place (a retry that was refused); when the box filled up
    /// meanwhile, the oldest other letter makes room: returns its id.
    [[nodiscard]] std::optional<std::uint64_t> put_back(dead_letter letter);

private:
    std::size_t capacity_;
    mutable std::mutex mutex_;
    std::deque<dead_letter> letters_;  ///< oldest first, so by id
    std::uint64_t next_id_ = 1;
};

}  // namespace cascade::detail
