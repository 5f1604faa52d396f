#pragma once
// The dead letters kept for listing: the newest, up to a capacity.
// Internal: include only from lib/cascade/src.

#include "cascade/dead_letter.hpp"

#include <deque>
#include <mutex>
#include <vector>

namespace cascade::detail {

class dead_letter_box {
public:
    explicit dead_letter_box(std::size_t capacity) noexcept : capacity_{capacity} {}

    /// Keeps `letter`, dropping the oldest when full (nothing is kept with capacity 0).
    void keep(dead_letter letter);
    [[nodiscard]] std::vector<dead_letter> list() const;

private:
    std::size_t capacity_;
    mutable std::mutex mutex_;
    std::deque<dead_letter> letters_;
};

}  // namespace cascade::detail
