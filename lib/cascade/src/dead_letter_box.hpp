#pragma once
// The dead letters kept for listing: the newest, up to a capacity; on a journaled bus, each
// letter kept and each letter pushed out is also written to the journal, in the box's own order.
// Internal: include only from lib/cascade/src.

#include "cascade/dead_letter.hpp"

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

namespace cascade::detail {

/// Where the box records what it keeps and what it lets go. Called under the box's lock, so the
/// records queue in the order the box changed: they only queue, never call back into the box.
struct dead_letter_records {
    std::function<void(const dead_letter&)> kept;
    std::function<void(std::uint64_t id)> dropped;
};

class dead_letter_box {
public:
    explicit dead_letter_box(std::size_t capacity) noexcept : capacity_{capacity} {}

    /// From now on the box records its changes there (set before the bus runs).
    void record_to(dead_letter_records records) { records_ = std::move(records); }

    /// Numbers and keeps `letter`, pushing out the oldest when full (nothing is kept with
    /// capacity 0); returns its id (0 when not kept).
    std::uint64_t keep(dead_letter letter);
    /// The letters a journal kept (a restart): the newest up to the capacity, the others dropped
    /// from the journal; numbering goes on above `last_id`, the highest id the journal holds.
    void restore(std::vector<dead_letter> letters, std::uint64_t last_id);
    [[nodiscard]] std::vector<dead_letter> list() const;

    /// Removes and returns the letter numbered `id`, or std::nullopt when it is not kept.
    [[nodiscard]] std::optional<dead_letter> take(std::uint64_t id);
    /// Returns a taken letter to its place (a retry that was refused); when the box filled up
    /// meanwhile, the oldest other letter makes room.
    void put_back(dead_letter letter);

private:
    void drop_locked(std::deque<dead_letter>::iterator letter);

    std::size_t capacity_;
    dead_letter_records records_;
    mutable std::mutex mutex_;
    std::deque<dead_letter> letters_;  ///< oldest first, so by id
    std::uint64_t next_id_ = 1;
};

}  // namespace cascade::detail
