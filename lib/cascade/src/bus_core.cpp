#include "bus_core.hpp"

#include "coarse_clock.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <iterator>

namespace cascade::detail {

namespace asio = boost::asio;

namespace {

/// Ids are taken from the shared counter a block at a time, so that threads do not contend on it.
constexpr message_id id_block = 1024;

std::atomic<std::uint64_t> bus_generations{0};

}  // namespace

// ---------------------------------------------------------------- setup

struct bus_core::room_waiter {
    explicit room_waiter(const asio::any_io_executor& ex) : channel{ex, 1} {}
    asio::experimental::concurrent_channel<void(boost::system::error_code)> channel;
};

bus_core::bus_core(bus_options options)
    : generation_{bus_generations.fetch_add(1, std::memory_order_relaxed) + 1},
      options_{std::move(options)},
      delays_{options_.delays ? options_.delays : std::make_shared<steady_delay_timer>()},
      shards_{std::make_unique<shard[]>(std::max<std::size_t>(1, options_.shards))} {
    options_.threads = std::max<std::size_t>(1, options_.threads);
    options_.shards = std::max<std::size_t>(1, options_.shards);
    options_.max_queued = std::max<std::size_t>(1, options_.max_queued);
    runner_slots_ = std::make_unique<runner_state[]>(max_runners);
    pool_.emplace(options_.threads);
    // One runner per thread from the start: lanes activated together are then drained in
    // parallel, not queued behind the first runner (which would stay outside any handler and so
    // never look stuck enough to justify a second).
    for (std::size_t i = 0; i < options_.threads; ++i) {
        runner_state* slot = nullptr;
        {
            const std::scoped_lock lock{runners_mutex_};
            slot = take_runner_slot();
        }
        start_runner(*slot);
    }
}

bus_core::~bus_core() {
    stop_accepting();
    cancel_everything();  // even when idle: parked runners go with the pool
    pool_.reset();
}

void bus_core::refuse_new_registrations() const {
    if (frozen_.load(std::memory_order_acquire)) {
        throw std::logic_error{"handlers must be registered before the first submission"};
    }
}

void bus_core::declare(const message_type& type) {
    refuse_new_registrations();
    registry.add(type);
    if (handlers_.size() <= type.index) {
        handlers_.resize(type.index + 1);
    }
}

void bus_core::add_command_handler(const message_type& type, std::string name, command_invoker invoke) {
    declare(type);
    auto& set = handlers_[type.index];
    if (set.command) {
        throw std::logic_error{"command " + std::string{type.name} + " already has a handler (" + set.command->name +
                               "); a command has exactly one"};
    }
    set.command = std::make_unique<handler_entry>(handler_entry{
        .name = std::move(name), .retry = retry_policy::no_retry(), .on_event = {}, .on_command = std::move(invoke)});
}

void bus_core::add_event_handler(const message_type& type, std::string name, event_invoker invoke,
                                 retry_policy policy) {
    declare(type);
    policy.max_attempts = std::max<std::uint32_t>(1, policy.max_attempts);
    handlers_[type.index].events.push_back(
        handler_entry{.name = std::move(name), .retry = policy, .on_event = std::move(invoke), .on_command = {}});
}

const handler_set* bus_core::handlers_for(const message_type& type) const noexcept {
    return type.index < handlers_.size() ? &handlers_[type.index] : nullptr;
}

// ---------------------------------------------------------------- admission

bool bus_core::try_reserve_slot() noexcept {
    auto current = in_flight_.load(std::memory_order_relaxed);
    do {
        if (current >= options_.max_queued) {
            return false;
        }
    } while (!in_flight_.compare_exchange_weak(current, current + 1, std::memory_order_seq_cst));
    return true;
}

void bus_core::release_slots(std::size_t n) noexcept {
    // seq_cst on both sides (here and in wait_for_room): each side writes one variable and then
    // reads the other, which only sequential consistency makes safe against a missed wake-up.
    const auto before = in_flight_.fetch_sub(n, std::memory_order_seq_cst);
    // Above the mark a release wakes nobody, so it does not take the waiters' lock either.
    if (before - n <= low_water() && room_waiter_count_.load(std::memory_order_seq_cst) != 0) {
        wake_room_waiters(wake::at_low_water);
    }
    if (before == n) {
        notify_if_idle();
    }
}

message_id bus_core::next_id() noexcept {
    // Keyed by the bus's generation, not its address: a new bus may reuse a freed one's address.
    thread_local struct {
        std::uint64_t owner = 0;
        message_id next = 0;
        message_id end = 0;
    } block;
    if (block.owner != generation_ || block.next == block.end) {
        block.owner = generation_;
        block.next = next_id_block_.fetch_add(1, std::memory_order_relaxed) * id_block + 1;
        block.end = block.next + id_block;
    }
    return block.next++;
}

bool bus_core::idle() const noexcept {
    return in_flight_.load(std::memory_order_acquire) == 0 && active_lanes_.load(std::memory_order_acquire) == 0 &&
           resident_lanes_.load(std::memory_order_acquire) == 0;
}

void bus_core::notify_if_idle() {
    if (in_flight_.load(std::memory_order_acquire) == 0 && active_lanes_.load(std::memory_order_acquire) == 0) {
        sweep_all_warm_lanes();  // an idle bus keeps no lane
    }
    if (idle()) {
        // Lock so that a waiter between its check and its wait cannot miss the notification.
        const std::scoped_lock lock{idle_mutex_};
        idle_cv_.notify_all();
    }
}

submit_result bus_core::try_submit(any_message msg, cascade_observer observer) {
    // Written once: a store on every submission would keep invalidating the cache line that
    // every runner reads the handler table from.
    if (!frozen_.load(std::memory_order_relaxed)) {
        frozen_.store(true, std::memory_order_release);
    }
    if (!accepting()) {
        return {.status = admission::shutting_down, .id = 0};
    }
    if (!try_reserve_slot()) {
        return {.status = admission::overloaded, .id = 0};
    }
    // Checked again with the slot held: shutdown() stops accepting, then waits for no slot to be
    // held, so either it sees this slot or this sees it closed.
    if (!accepting_.load(std::memory_order_seq_cst)) {
        release_slots(1);
        return {.status = admission::shutting_down, .id = 0};
    }
    const message_id id = next_id();
    std::shared_ptr<cascade_state> cascade;
    if (observer.on_event || observer.on_done) {
        cascade = std::make_shared<cascade_state>(id, msg.kind(), std::move(observer));
    }
    counters_.local().submitted.fetch_add(1, std::memory_order_relaxed);
    enqueue(work_item{
        .message = envelope{.id = id,
                            .causation_id = 0,
                            .correlation_id = id,
                            .depth = 0,
                            .timestamp = coarse_now(),
                            .message = std::move(msg)},
        .cascade = std::move(cascade),
    });
    return {.status = admission::accepted, .id = id};
}

asio::awaitable<void> bus_core::wait_for_room() {
    const auto ex = co_await asio::this_coro::executor;
    while (accepting() && in_flight_.load(std::memory_order_acquire) >= options_.max_queued) {
        auto waiter = std::make_shared<room_waiter>(ex);
        {
            const std::scoped_lock lock{room_mutex_};
            room_waiters_.push_back(waiter);
            room_waiter_count_.fetch_add(1, std::memory_order_seq_cst);
        }
        // Registered first, checked second: a release between the two still finds us.
        if (!accepting() || in_flight_.load(std::memory_order_seq_cst) < options_.max_queued) {
            const std::scoped_lock lock{room_mutex_};
            if (std::erase(room_waiters_, waiter) != 0) {
                room_waiter_count_.fetch_sub(1, std::memory_order_seq_cst);
            }
            continue;
        }
        co_await waiter->channel.async_receive(asio::as_tuple(asio::use_awaitable));
    }
}

void bus_core::wake_room_waiters(wake how) {
    // Waiters are woken together once a quarter of the queue is free: waking one per release
    // makes producers thrash (wake, submit a few, sleep again), at a cost per message.
    const auto in_flight = in_flight_.load(std::memory_order_seq_cst);
    const bool closing = how == wake::all_closing;
    std::vector<std::shared_ptr<room_waiter>> woken;
    {
        const std::scoped_lock lock{room_mutex_};
        if (closing || in_flight <= low_water()) {
            woken.swap(room_waiters_);
        } else if (how == wake::one_per_free_slot && in_flight < options_.max_queued) {
            // One per free slot, not just one: a woken waiter may not submit (it gave up, or it
            // submits to a lane already scheduled), and then nothing would check again.
            const auto n = std::min(options_.max_queued - in_flight, room_waiters_.size());
            const auto first = room_waiters_.begin();
            woken.assign(std::make_move_iterator(first),
                         std::make_move_iterator(first + static_cast<std::ptrdiff_t>(n)));
            room_waiters_.erase(first, first + static_cast<std::ptrdiff_t>(n));
        }
        room_waiter_count_.store(room_waiters_.size(), std::memory_order_seq_cst);
    }
    for (auto& waiter : woken) {
        waiter->channel.try_send(closing ? asio::error::operation_aborted : boost::system::error_code{});
    }
}

void bus_core::wake_waiters_if_stalled(const runner_state& self) {
    // The low-water mark alone can hang: when the waiters are handlers, their own messages hold
    // slots, and once no runner is draining no release may ever come. So a runner that stops
    // draining (it enters a handler or parks) and sees no other runner draining wakes one waiter
    // per free slot. Each runner writes its state before reading the others', so of two that
    // stop together at least one sees the other stopped. With one thread this wakes waiters at
    // each handler entry, as often as before the low-water mark; with more, only when all stall.
    if (room_waiter_count_.load(std::memory_order_seq_cst) == 0 ||
        in_flight_.load(std::memory_order_seq_cst) >= options_.max_queued || another_runner_draining(self)) {
        return;
    }
    wake_room_waiters(wake::one_per_free_slot);
}

// ---------------------------------------------------------------- lifecycle

bool bus_core::wait_idle(std::chrono::nanoseconds timeout) {
    std::unique_lock lock{idle_mutex_};
    return idle_cv_.wait_for(lock, timeout, [this] { return idle(); });
}

void bus_core::stop_accepting() noexcept {
    frozen_.store(true, std::memory_order_release);
    accepting_.store(false, std::memory_order_seq_cst);
    wake_room_waiters(wake::all_closing);
}

bool bus_core::shutdown(std::chrono::nanoseconds deadline) {
    stop_accepting();
    if (wait_idle(deadline)) {
        return true;
    }
    cancel_everything();
    return false;
}

void bus_core::cancel_everything() {
    if (!pool_) {
        return;
    }
    // Stop the threads, then destroy every suspended coroutine (a handler waiting on a timer, a
    // parked runner) by destroying the pool. Each unfinished cascade then reports "cancelled"
    // from its state's destructor, and queued messages go with their lanes.
    pool_->stop();
    pool_->join();
    {
        const std::scoped_lock lock{runners_mutex_};
        pending_.clear();
        idle_.clear();  // posts each frame's destruction to the stopped pool
        pending_count_.store(0);
        idle_count_.store(0);
    }
    // Queued messages first, while the pool still exists: their cascades report now, and an
    // outcome handler may post to the pool (it is stopped; the post is destroyed with it).
    for (std::size_t i = 0; i < options_.shards; ++i) {
        lane_map lanes;
        {
            const std::scoped_lock lock{shards_[i].mutex};
            lanes.swap(shards_[i].lanes);
            shards_[i].warm = 0;
        }
    }
    // Then the frames; they point at runner slots and at lanes, and touch neither when destroyed.
    pool_.reset();
    in_flight_.store(0, std::memory_order_release);
    active_lanes_.store(0, std::memory_order_release);
    resident_lanes_.store(0, std::memory_order_release);
    // A closed bus still hands out a valid executor (for callers that co_spawn on it to learn
    // that it is closed); nothing is ever queued on this one by the bus again.
    pool_.emplace(1);
    notify_if_idle();
}

// ---------------------------------------------------------------- observation

metrics_snapshot bus_core::metrics() const {
    auto snapshot = counters_.snapshot();
    snapshot.queued = in_flight_.load(std::memory_order_relaxed);
    snapshot.active_lanes = active_lanes_.load(std::memory_order_relaxed);
    snapshot.resident_lanes = resident_lanes_.load(std::memory_order_relaxed);
    return snapshot;
}

std::vector<dead_letter> bus_core::dead_letters() const {
    const std::scoped_lock lock{dead_letter_mutex_};
    return {dead_letters_.begin(), dead_letters_.end()};
}

}  // namespace cascade::detail
