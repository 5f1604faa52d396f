#include "runner_pool.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <optional>

namespace cascade::detail {

namespace asio = boost::asio;

runner_pool::runner_pool(asio::any_io_executor executor, lane_server& server, const std::atomic<std::size_t>& waiting,
                         std::function<void()> on_stall)
    : executor_{std::move(executor)},
      server_{server},
      waiting_{waiting},
      on_stall_{std::move(on_stall)},
      slots_{std::make_unique<runner_state[]>(max_runners)} {}

void runner_pool::start(std::size_t count, const std::shared_ptr<void>& keepalive) {
    // One runner per thread from the start: lanes activated together are then served in
    // parallel, not queued behind the first runner (which would stay outside any handler and so
    // never look stuck enough to justify a second).
    {
        const std::scoped_lock lock{mutex_};
        keepalive_ = keepalive;
    }
    for (std::size_t i = 0; i < count; ++i) {
        runner_state* slot = nullptr;
        {
            const std::scoped_lock lock{mutex_};
            slot = take_slot();
        }
        if (slot != nullptr) {
            spawn(*slot, keepalive);
        }
    }
}

void runner_pool::spawn(runner_state& slot, std::shared_ptr<void> keepalive) {
    // Posted: co_spawn dispatches, so from one of our threads the new runner would start inline,
    // nested inside the caller's handler.
    asio::post(executor_, [this, &slot, keepalive = std::move(keepalive)] {
        asio::co_spawn(executor_, run(slot, keepalive), asio::detached);
    });
}

void runner_pool::activate(lane_ref lane) {
    std::optional<lane_handler> parked;
    {
        const std::scoped_lock lock{mutex_};
        if (closed_) {
            return;
        }
        if (!parked_.empty()) {
            parked.emplace(std::move(parked_.back()));
            parked_.pop_back();
            parked_count_.fetch_sub(1, std::memory_order_relaxed);
        } else {
            pending_.push_back(lane);
            pending_count_.fetch_add(1, std::memory_order_seq_cst);
        }
    }
    if (parked) {
        asio::post(executor_, [resume = std::move(*parked), lane]() mutable { std::move(resume)(lane); });
        return;
    }
    spawn_if_all_busy();
}

template <class Predicate>
bool runner_pool::any_runner(Predicate matches) const noexcept {
    const auto used = slots_used_.load(std::memory_order_seq_cst);
    for (std::size_t i = 0; i < used; ++i) {
        if (matches(slots_[i], slots_[i].state.load(std::memory_order_seq_cst))) {
            return true;
        }
    }
    return false;
}

bool runner_pool::all_inside_handlers() const noexcept {
    return !any_runner([](const runner_state&, std::uint8_t state) {
        return state == runner_state::serving || state == runner_state::parked;
    });
}

runner_state* runner_pool::take_slot() noexcept {
    const auto used = slots_used_.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < used; ++i) {
        if (slots_[i].state.load(std::memory_order_relaxed) == runner_state::free) {
            slots_[i].state.store(runner_state::serving, std::memory_order_seq_cst);
            return &slots_[i];
        }
    }
    if (used == max_runners) {
        return nullptr;
    }
    slots_[used].state.store(runner_state::serving, std::memory_order_seq_cst);
    slots_used_.store(used + 1, std::memory_order_seq_cst);
    return &slots_[used];
}

void runner_pool::spawn_if_all_busy() {
    // A runner outside any handler reaches the pending queue by itself; one inside a handler may
    // be waiting on I/O indefinitely. Spawn only when none is outside. The lock-free peek keeps
    // the common case (some runner is outside) off the mutex.
    if (pending_count_.load(std::memory_order_seq_cst) == 0 || parked_count_.load(std::memory_order_seq_cst) != 0 ||
        !all_inside_handlers()) {
        return;
    }
    runner_state* fresh = nullptr;
    std::shared_ptr<void> keepalive;
    {
        const std::scoped_lock lock{mutex_};
        if (closed_ || pending_.empty() || !parked_.empty() || !all_inside_handlers()) {
            return;
        }
        // The new runner counts as outside from now on, so no second one is spawned before it starts.
        fresh = take_slot();
        keepalive = keepalive_;
    }
    if (fresh != nullptr) {
        spawn(*fresh, std::move(keepalive));
    }
}

bool runner_pool::any_serving() const noexcept {
    return any_runner([](const runner_state&, std::uint8_t state) { return state == runner_state::serving; });
}

void runner_pool::check_stall(const runner_state& self) {
    if (waiting_.load(std::memory_order_seq_cst) == 0) {
        return;
    }
    // Each runner writes its state before reading the others', so of two that stop together at
    // least one sees the other stopped.
    const bool another_serving = any_runner([&self](const runner_state& runner, std::uint8_t state) {
        return &runner != &self && state == runner_state::serving;
    });
    if (!another_serving) {
        on_stall_();
    }
}

void runner_pool::enter_handler(runner_state& self) {
    // Flag first, peek second; activate() pushes first and reads the flags second. Whichever
    // comes last sees the other, so a pending lane never waits on runners that are all stuck.
    self.state.store(runner_state::inside_handler, std::memory_order_seq_cst);
    if (pending_count_.load(std::memory_order_seq_cst) != 0) {
        spawn_if_all_busy();
    }
    check_stall(self);
}

lane_ref runner_pool::pop_pending_locked() noexcept {
    if (pending_.empty()) {
        return {};
    }
    const lane_ref lane = pending_.front();
    pending_.pop_front();
    pending_count_.fetch_sub(1, std::memory_order_relaxed);
    return lane;
}

asio::awaitable<lane_ref> runner_pool::next_lane(runner_state& self) {
    {
        const std::scoped_lock lock{mutex_};
        if (closed_) {
            co_return lane_ref{};
        }
        if (const lane_ref lane = pop_pending_locked()) {
            co_return lane;
        }
    }
    self.state.store(runner_state::parked, std::memory_order_seq_cst);
    check_stall(self);
    // Park until a lane is handed over, or end when enough runners are parked already.
    co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(lane_ref)>(
        [this](auto handler) {
            std::unique_lock lock{mutex_};
            const lane_ref handed = closed_ ? lane_ref{} : pop_pending_locked();
            if (!handed && !closed_ && parked_.size() < max_parked) {
                parked_.emplace_back(std::move(handler));
                parked_count_.fetch_add(1, std::memory_order_seq_cst);
                return;  // parked until activate() hands it a lane, or close() ends it
            }
            lock.unlock();
            asio::post(executor_, [handler = std::move(handler), handed]() mutable { std::move(handler)(handed); });
        },
        asio::use_awaitable);
}

asio::awaitable<void> runner_pool::run(runner_state& self, std::shared_ptr<void> keepalive) {
    while (const lane_ref lane = co_await next_lane(self)) {
        self.state.store(runner_state::serving, std::memory_order_seq_cst);
        co_await server_.serve(lane, self);
    }
    // Frees the slot for a later spawn; what the runner held goes with it.
    self.batch.clear();
    self.position = 0;
    self.state.store(runner_state::free, std::memory_order_seq_cst);
    keepalive.reset();
}

void runner_pool::close() {
    std::vector<lane_handler> parked;
    std::shared_ptr<void> keepalive;
    {
        const std::scoped_lock lock{mutex_};
        closed_ = true;
        keepalive.swap(keepalive_);  // released outside the lock: it may be the last owner of the bus
        pending_.clear();
        pending_count_.store(0, std::memory_order_relaxed);
        parked.swap(parked_);
        parked_count_.store(0, std::memory_order_relaxed);
    }
    for (auto& resume : parked) {
        asio::post(executor_, [resume = std::move(resume)]() mutable { std::move(resume)(lane_ref{}); });
    }
}

}  // namespace cascade::detail
