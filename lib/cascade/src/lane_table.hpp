#pragma once
// The lanes: one FIFO inbox per active aggregate, in a sharded map. A lane is scheduled while a
// runner owns it or it waits for one; an emptied lane stays warm for the aggregate's next message,
// and warm lanes are swept when a shard holds too many and whenever the bus goes idle, so idle
// aggregates cost nothing. Internal: include only from lib/cascade/src.

#include "work_item.hpp"

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace cascade::detail {

/// An aggregate key with its hash, computed once per message rather than at every lookup.
struct hashed_key {
    std::size_t hash{};
    std::string_view text;

    explicit hashed_key(std::string_view key) noexcept : hash{std::hash<std::string_view>{}(key)}, text{key} {}
};

struct lane_key {
    std::size_t hash{};
    std::string text;
};

struct lane_key_hash {
    using is_transparent = void;
    [[nodiscard]] std::size_t operator()(const lane_key& k) const noexcept { return k.hash; }
    [[nodiscard]] std::size_t operator()(const hashed_key& k) const noexcept { return k.hash; }
};

struct lane_key_equal {
    using is_transparent = void;
    [[nodiscard]] bool operator()(const lane_key& a, const lane_key& b) const noexcept { return a.text == b.text; }
    [[nodiscard]] bool operator()(const hashed_key& a, const lane_key& b) const noexcept { return a.text == b.text; }
    [[nodiscard]] bool operator()(const lane_key& a, const hashed_key& b) const noexcept { return a.text == b.text; }
};

struct lane {
    std::vector<work_item> inbox;  ///< guarded by its shard's mutex, like `scheduled`
    bool scheduled = false;        ///< waiting for a runner, or owned by one
};

/// A scheduled lane, as runners hold it: the lane and where to find it again. Lanes live in the
/// map's nodes, whose addresses are stable.
struct lane_ref {
    lane* target = nullptr;
    const lane_key* key = nullptr;
    explicit operator bool() const noexcept { return target != nullptr; }
};

class lane_table {
public:
    explicit lane_table(std::size_t shards);

    struct enqueue_result {
        lane_ref activated;    ///< set when the lane was not scheduled: hand it to a runner
        bool refused = false;  ///< the table is closed; the item was not taken
    };
    /// Appends `item` to its aggregate's inbox (moving from it unless refused).
    [[nodiscard]] enqueue_result enqueue(work_item& item);

    enum class take_status : std::uint8_t {
        taken,         ///< `batch` holds the inbox's messages
        emptied,       ///< nothing was queued: the lane is unscheduled (warm)
        emptied_last,  ///< emptied, and no lane is scheduled any more
    };
    /// Swaps `lane`'s inbox into the empty `batch`, or unschedules the lane when it is empty.
    [[nodiscard]] take_status take_batch(lane_ref lane, std::vector<work_item>& batch);

    /// Forgets every warm lane.
    void sweep_warm();

    /// Refuses every enqueue from now on, hands every queued item to `on_item` and forgets every
    /// lane. Runners must not touch the lanes they hold afterwards.
    template <class F>
    void close(F&& on_item);

    [[nodiscard]] std::size_t active() const noexcept { return active_.load(std::memory_order_acquire); }
    [[nodiscard]] std::size_t resident() const noexcept { return resident_.load(std::memory_order_acquire); }

private:
    using lane_map = std::unordered_map<lane_key, lane, lane_key_hash, lane_key_equal>;

    struct alignas(64) shard {
        std::mutex mutex;
        lane_map lanes;
        std::size_t warm = 0;  ///< unscheduled lanes in `lanes`
    };

    [[nodiscard]] shard& shard_for(std::size_t hash) noexcept;
    void sweep_warm_locked(shard& s);

    std::size_t shard_count_;
    std::unique_ptr<shard[]> shards_;
    std::atomic<bool> closed_{false};
    alignas(64) std::atomic<std::size_t> active_{0};  ///< scheduled lanes
    std::atomic<std::size_t> resident_{0};            ///< lanes in memory, scheduled or warm
};

template <class F>
void lane_table::close(F&& on_item) {
    closed_.store(true, std::memory_order_seq_cst);
    for (std::size_t i = 0; i < shard_count_; ++i) {
        lane_map lanes;
        {
            const std::scoped_lock lock{shards_[i].mutex};
            lanes.swap(shards_[i].lanes);
            shards_[i].warm = 0;
        }
        for (auto& [key, lane] : lanes) {
            for (auto& item : lane.inbox) {
                on_item(item);
            }
        }
    }
    active_.store(0, std::memory_order_release);
    resident_.store(0, std::memory_order_release);
}

}  // namespace cascade::detail
