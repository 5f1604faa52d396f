#include "lane_table.hpp"

#include <algorithm>

namespace cascade::detail {

namespace {

/// A shard sweeps its warm lanes once it holds more than this many.
constexpr std::size_t warm_lanes_per_shard = 256;

}  // namespace

lane_table::lane_table(std::size_t shards)
    : shard_count_{std::max<std::size_t>(1, shards)}, shards_{std::make_unique<shard[]>(shard_count_)} {}

lane_table::shard& lane_table::shard_for(std::size_t hash) noexcept {
    // The map uses the low bits of the same hash; take the shard from the high ones.
    return shards_[(hash >> 32U) % shard_count_];
}

lane_table::enqueue_result lane_table::enqueue(work_item& item) {
    const hashed_key key{item.message.aggregate()};
    auto& s = shard_for(key.hash);
    enqueue_result result;
    const std::scoped_lock lock{s.mutex};
    // Read under the shard's lock: close() sets the flag before it takes each shard's lock, so an
    // item either lands before close() empties this shard or is refused here.
    if (closed_.load(std::memory_order_relaxed)) {
        result.refused = true;
        return result;
    }
    auto it = s.lanes.find(key);
    if (it == s.lanes.end()) {
        it = s.lanes.try_emplace(lane_key{key.hash, std::string{key.text}}).first;
        resident_.fetch_add(1, std::memory_order_relaxed);
        ++s.warm;
    }
    lane& target = it->second;
    target.inbox.push_back(std::move(item));
    if (!target.scheduled) {
        target.scheduled = true;
        --s.warm;
        active_.fetch_add(1, std::memory_order_relaxed);
        result.activated = {.target = &target, .key = &it->first};
    }
    return result;
}

lane_table::take_status lane_table::take_batch(lane_ref l, std::vector<work_item>& batch) {
    auto& s = shard_for(l.key->hash);
    {
        const std::scoped_lock lock{s.mutex};
        if (!l.target->inbox.empty()) {
            batch.swap(l.target->inbox);
            return take_status::taken;
        }
        // Unscheduled under the lock that enqueue takes: a message for this key either landed in
        // this inbox before, or finds the lane unscheduled and schedules it again.
        l.target->scheduled = false;
        if (++s.warm > warm_lanes_per_shard) {
            sweep_warm_locked(s);
        }
    }
    return active_.fetch_sub(1, std::memory_order_acq_rel) == 1 ? take_status::emptied_last : take_status::emptied;
}

void lane_table::sweep_warm_locked(shard& s) {
    const auto swept = std::erase_if(s.lanes, [](const auto& entry) { return !entry.second.scheduled; });
    s.warm = 0;
    resident_.fetch_sub(swept, std::memory_order_relaxed);
}

void lane_table::sweep_warm() {
    for (std::size_t i = 0; i < shard_count_; ++i) {
        const std::scoped_lock lock{shards_[i].mutex};
        if (shards_[i].warm != 0) {
            sweep_warm_locked(shards_[i]);
        }
    }
}

}  // namespace cascade::detail
