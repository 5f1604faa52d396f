// Lanes and runners: which messages wait, which coroutine drains them (see bus_core.hpp).
#include "bus_core.hpp"

#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace cascade::detail {

namespace asio = boost::asio;

namespace {

/// A shard sweeps its warm lanes once it holds more than this many.
constexpr std::size_t warm_lanes_per_shard = 256;
/// Runners parked beyond this many exit instead.
constexpr std::size_t max_idle_runners = 64;

}  // namespace

// ---------------------------------------------------------------- lanes

void bus_core::sweep_warm_lanes(shard& s) {
    const auto swept = std::erase_if(s.lanes, [](const auto& entry) { return !entry.second.scheduled; });
    s.warm = 0;
    resident_lanes_.fetch_sub(swept, std::memory_order_relaxed);
}

void bus_core::sweep_all_warm_lanes() {
    for (std::size_t i = 0; i < options_.shards; ++i) {
        const std::scoped_lock lock{shards_[i].mutex};
        if (shards_[i].warm != 0) {
            sweep_warm_lanes(shards_[i]);
        }
    }
}

shard& bus_core::shard_for(std::size_t hash) noexcept {
    // The map uses the low bits of the same hash; take the shard from the high ones.
    return shards_[(hash >> 32U) % options_.shards];
}

void bus_core::enqueue(work_item item) {
    const hashed_key key{item.message.aggregate()};
    auto& s = shard_for(key.hash);
    lane_ref activated;
    {
        const std::scoped_lock lock{s.mutex};
        auto it = s.lanes.find(key);
        if (it == s.lanes.end()) {
            it = s.lanes.try_emplace(lane_key{key.hash, std::string{key.text}}).first;
            resident_lanes_.fetch_add(1, std::memory_order_relaxed);
            ++s.warm;
        }
        lane& target = it->second;
        if (!target.scheduled) {
            target.scheduled = true;
            --s.warm;
            activated = {.target = &target, .key = &it->first};
            active_lanes_.fetch_add(1, std::memory_order_relaxed);
        }
        target.inbox.push_back(std::move(item));
    }
    if (activated) {
        activate(activated);
    }
}

bool bus_core::take_batch(lane_ref l, std::vector<work_item>& batch) {
    auto& s = shard_for(l.key->hash);
    {
        const std::scoped_lock lock{s.mutex};
        if (!l.target->inbox.empty()) {
            batch.swap(l.target->inbox);
            return true;
        }
        // Unscheduled under the same lock that enqueue takes: a message for this key either
        // landed in this inbox before, or finds the lane unscheduled and schedules it again.
        l.target->scheduled = false;
        if (++s.warm > warm_lanes_per_shard) {
            sweep_warm_lanes(s);
        }
    }
    if (active_lanes_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        notify_if_idle();
    }
    return false;
}

// ---------------------------------------------------------------- runners

void bus_core::activate(lane_ref l) {
    std::optional<lane_handler> parked;
    {
        const std::scoped_lock lock{runners_mutex_};
        if (!idle_.empty()) {
            parked.emplace(std::move(idle_.back()));
            idle_.pop_back();
            idle_count_.fetch_sub(1, std::memory_order_relaxed);
        } else {
            pending_.push_back(l);
            pending_count_.fetch_add(1, std::memory_order_seq_cst);
        }
    }
    if (parked) {
        asio::post(pool_->get_executor(), [resume = std::move(*parked), l]() mutable { std::move(resume)(l); });
        return;
    }
    spawn_runner_if_all_busy();
}

template <class Predicate>
bool bus_core::any_runner(Predicate matches) const noexcept {
    const auto used = runner_slots_used_.load(std::memory_order_seq_cst);
    for (std::size_t i = 0; i < used; ++i) {
        if (matches(runner_slots_[i], runner_slots_[i].state.load(std::memory_order_seq_cst))) {
            return true;
        }
    }
    return false;
}

bool bus_core::all_runners_inside_handlers() const noexcept {
    return !any_runner([](const runner_state&, std::uint8_t state) {
        return state == runner_state::outside_handler || state == runner_state::parked;
    });
}

bool bus_core::another_runner_draining(const runner_state& self) const noexcept {
    return any_runner([&self](const runner_state& runner, std::uint8_t state) {
        return &runner != &self && state == runner_state::outside_handler;
    });
}

runner_state* bus_core::take_runner_slot() noexcept {
    const auto used = runner_slots_used_.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < used; ++i) {
        if (runner_slots_[i].state.load(std::memory_order_relaxed) == runner_state::free) {
            runner_slots_[i].state.store(runner_state::outside_handler, std::memory_order_seq_cst);
            return &runner_slots_[i];
        }
    }
    if (used == max_runners) {
        return nullptr;
    }
    runner_slots_[used].state.store(runner_state::outside_handler, std::memory_order_seq_cst);
    runner_slots_used_.store(used + 1, std::memory_order_seq_cst);
    return &runner_slots_[used];
}

void bus_core::start_runner(runner_state& slot) {
    // Posted: co_spawn dispatches, so from a pool thread the new runner would start inline,
    // nested inside the caller's handler.
    asio::post(pool_->get_executor(),
               [this, &slot] { asio::co_spawn(pool_->get_executor(), run(slot), asio::detached); });
}

void bus_core::spawn_runner_if_all_busy() {
    // A runner outside any handler will reach the pending queue by itself; one inside a handler
    // may be waiting on I/O indefinitely. Spawn only when none is outside. The lock-free peek
    // keeps the common case (some runner is outside) off the mutex.
    if (pending_count_.load(std::memory_order_seq_cst) == 0 || idle_count_.load(std::memory_order_seq_cst) != 0 ||
        !all_runners_inside_handlers()) {
        return;
    }
    runner_state* fresh = nullptr;
    {
        const std::scoped_lock lock{runners_mutex_};
        if (pending_.empty() || !idle_.empty() || !all_runners_inside_handlers()) {
            return;
        }
        // The new runner counts as outside from now on, so no second one is spawned before it starts.
        fresh = take_runner_slot();
    }
    if (fresh != nullptr) {
        start_runner(*fresh);
    }
}

void bus_core::enter_handler(runner_state& self) {
    // Flag first, peek second; activate() pushes first and reads the flags second. Whichever
    // comes last sees the other, so a pending lane never waits on runners that are all stuck.
    self.state.store(runner_state::inside_handler, std::memory_order_seq_cst);
    if (pending_count_.load(std::memory_order_seq_cst) != 0) {
        spawn_runner_if_all_busy();
    }
    wake_waiters_if_stalled(self);
}

lane_ref bus_core::pop_pending_locked() noexcept {
    if (pending_.empty()) {
        return {};
    }
    const lane_ref l = pending_.front();
    pending_.pop_front();
    pending_count_.fetch_sub(1, std::memory_order_relaxed);
    return l;
}

lane_ref bus_core::pop_pending() noexcept {
    const std::scoped_lock lock{runners_mutex_};
    return pop_pending_locked();
}

asio::awaitable<lane_ref> bus_core::next_lane(runner_state& self) {
    if (const lane_ref l = pop_pending()) {
        co_return l;
    }
    self.state.store(runner_state::parked, std::memory_order_seq_cst);
    wake_waiters_if_stalled(self);
    // Park until a lane is handed over, or leave when enough runners are parked already.
    co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(lane_ref)>(
        [this, &self](auto handler) {
            std::unique_lock lock{runners_mutex_};
            const lane_ref handed = pop_pending_locked();
            if (!handed) {
                if (idle_.size() < max_idle_runners) {
                    idle_.emplace_back(std::move(handler));
                    idle_count_.fetch_add(1, std::memory_order_seq_cst);
                    return;  // parked until activate() hands it a lane
                }
                self.state.store(runner_state::free, std::memory_order_seq_cst);  // leaves: the null lane ends its loop
            }
            lock.unlock();
            asio::post(pool_->get_executor(),
                       [handler = std::move(handler), handed]() mutable { std::move(handler)(handed); });
        },
        asio::use_awaitable);
}

asio::awaitable<void> bus_core::run(runner_state& self) {
    try {
        while (const lane_ref l = co_await next_lane(self)) {
            self.state.store(runner_state::outside_handler, std::memory_order_seq_cst);
            co_await drain(l, self);
        }
    } catch (...) {
        // Only the bus's own machinery can throw here (handlers' failures are caught where they
        // run), e.g. bad_alloc. Give the slot back so that spawning is not blocked for good.
        self.state.store(runner_state::free, std::memory_order_seq_cst);
        throw;
    }
}

}  // namespace cascade::detail
