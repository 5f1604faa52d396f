#include "bus_core.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <ctime>
#include <exception>
#include <random>

namespace cascade::detail {

namespace asio = boost::asio;

namespace {

/// Runners parked beyond this many exit instead.
constexpr std::size_t max_idle_runners = 64;
/// Runners alive at once. Each is a coroutine frame; all of them inside suspended handlers is the
/// only case where a newly active lane waits for one to come back.
constexpr std::size_t max_runners = 4096;
/// A runner whose handlers never suspend yields the thread after this many messages, so that
/// completions queued behind it (timers, outcomes, other coroutines) are not starved.
constexpr std::size_t messages_per_turn = 256;

[[nodiscard]] std::string describe(const std::exception_ptr& failure) {
    try {
        std::rethrow_exception(failure);
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "unknown exception";
    }
}

[[nodiscard]] double unit_random() {
    thread_local std::mt19937_64 engine{std::random_device{}()};
    return std::uniform_real_distribution<double>{0.0, 1.0}(engine);
}

/// Marks a runner as inside a handler for the scope's duration (set by bus_core::enter_handler).
class handler_scope {
public:
    explicit handler_scope(runner_state& self) noexcept : self_{&self} {}
    ~handler_scope() { self_->state.store(runner_state::outside_handler, std::memory_order_relaxed); }
    handler_scope(const handler_scope&) = delete;
    handler_scope& operator=(const handler_scope&) = delete;

private:
    runner_state* self_;
};

/// Handler latency is timed for one run in eight: two clock reads per handler would cost more
/// than a trivial handler itself on this kind of machine, and a sample shows the distribution.
constexpr std::uint32_t latency_sample_every = 8;

[[nodiscard]] bool sample_latency() noexcept {
    thread_local std::uint32_t runs = 0;
    return ++runs % latency_sample_every == 0;
}

/// A stopwatch that reads the clock only for sampled runs.
class handler_timer {
public:
    handler_timer() noexcept : sampled_{sample_latency()} {
        if (sampled_) {
            started_ = std::chrono::steady_clock::now();
        }
    }
    void stop(counter_shard& count) const noexcept {
        if (sampled_) {
            count.observe_latency(std::chrono::steady_clock::now() - started_);
        }
    }

private:
    bool sampled_;
    std::chrono::steady_clock::time_point started_{};
};

/// Ids are taken from the shared counter a block at a time, so that threads do not contend on it.
constexpr message_id id_block = 1024;

/// Envelope timestamps are for people and logs: the coarse clock (a few ms) is plenty, and it
/// costs a fraction of a precise read on the hot path.
[[nodiscard]] std::chrono::system_clock::time_point coarse_now() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return std::chrono::system_clock::time_point{std::chrono::duration_cast<std::chrono::system_clock::duration>(
        std::chrono::seconds{ts.tv_sec} + std::chrono::nanoseconds{ts.tv_nsec})};
}

}  // namespace

// ---------------------------------------------------------------- bus_core: setup

struct bus_core::room_waiter {
    explicit room_waiter(const asio::any_io_executor& ex) : channel{ex, 1} {}
    asio::experimental::concurrent_channel<void(boost::system::error_code)> channel;
};

namespace {
std::atomic<std::uint64_t> bus_generations{0};
}  // namespace

bus_core::bus_core(bus_options options)
    : generation_{bus_generations.fetch_add(1, std::memory_order_relaxed) + 1},
      options_{std::move(options)},
      delays_{options_.delays ? options_.delays : std::make_shared<steady_delay_timer>()},
      shards_{std::make_unique<shard[]>(std::max<std::size_t>(1, options_.shards))} {
    options_.shards = std::max<std::size_t>(1, options_.shards);
    options_.max_queued = std::max<std::size_t>(1, options_.max_queued);
    runner_slots_ = std::make_unique<runner_state[]>(max_runners);
    pool_.emplace(std::max<std::size_t>(1, options_.threads));
    // One runner per thread from the start: lanes activated together are then drained in
    // parallel, not queued behind the first runner (which would stay outside any handler and so
    // never look stuck enough to justify a second).
    for (std::size_t i = 0; i < std::max<std::size_t>(1, options_.threads); ++i) {
        start_runner(*take_runner_slot());
    }
}

void bus_core::start_runner(runner_state& slot) {
    // Posted: co_spawn dispatches, so from a pool thread the new runner would start inline,
    // nested inside the caller's handler.
    asio::post(pool_->get_executor(),
               [this, &slot] { asio::co_spawn(pool_->get_executor(), run(slot), asio::detached); });
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
    if (room_waiter_count_.load(std::memory_order_seq_cst) != 0) {
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
    frozen_.store(true, std::memory_order_release);
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
    const auto low_water = options_.max_queued - options_.max_queued / 4;
    const bool closing = how == wake::all_closing;
    std::vector<std::shared_ptr<room_waiter>> woken;
    {
        const std::scoped_lock lock{room_mutex_};
        if (closing || in_flight <= low_water) {
            woken.swap(room_waiters_);
        } else if (how == wake::one && in_flight < options_.max_queued && !room_waiters_.empty()) {
            woken.push_back(std::move(room_waiters_.front()));
            room_waiters_.erase(room_waiters_.begin());
        }
        room_waiter_count_.store(room_waiters_.size(), std::memory_order_seq_cst);
    }
    for (auto& waiter : woken) {
        waiter->channel.try_send(closing ? asio::error::operation_aborted : boost::system::error_code{});
    }
}

void bus_core::wake_a_waiter_if_stalled(const runner_state& self) {
    // The low-water mark alone can hang: when the waiters are handlers, their own messages hold
    // slots, and once no runner is draining no release may ever come. So a runner that stops
    // draining (it enters a handler or parks) and sees no other runner draining wakes one waiter
    // if there is room. Each runner writes its state before reading the others', so of two that
    // stop together at least one sees the other stopped.
    if (room_waiter_count_.load(std::memory_order_seq_cst) == 0 ||
        in_flight_.load(std::memory_order_seq_cst) >= options_.max_queued || another_runner_draining(self)) {
        return;
    }
    wake_room_waiters(wake::one);
}

// ---------------------------------------------------------------- lanes

namespace {
/// A shard sweeps its warm lanes once it holds more than this many.
constexpr std::size_t warm_lanes_per_shard = 256;
}  // namespace

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

bool bus_core::all_runners_inside_handlers() const noexcept {
    const auto used = runner_slots_used_.load(std::memory_order_seq_cst);
    for (std::size_t i = 0; i < used; ++i) {
        const auto state = runner_slots_[i].state.load(std::memory_order_seq_cst);
        if (state == runner_state::outside_handler || state == runner_state::parked) {
            return false;
        }
    }
    return true;
}

bool bus_core::another_runner_draining(const runner_state& self) const noexcept {
    const auto used = runner_slots_used_.load(std::memory_order_seq_cst);
    for (std::size_t i = 0; i < used; ++i) {
        if (&runner_slots_[i] != &self &&
            runner_slots_[i].state.load(std::memory_order_seq_cst) == runner_state::outside_handler) {
            return true;
        }
    }
    return false;
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
    wake_a_waiter_if_stalled(self);
}

lane_ref bus_core::pop_pending() noexcept {
    const std::scoped_lock lock{runners_mutex_};
    if (pending_.empty()) {
        return {};
    }
    const lane_ref l = pending_.front();
    pending_.pop_front();
    pending_count_.fetch_sub(1, std::memory_order_relaxed);
    return l;
}

asio::awaitable<lane_ref> bus_core::next_lane(runner_state& self) {
    if (const lane_ref l = pop_pending()) {
        co_return l;
    }
    self.state.store(runner_state::parked, std::memory_order_seq_cst);
    wake_a_waiter_if_stalled(self);
    // Park until a lane is handed over, or leave when enough runners are parked already.
    co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(lane_ref)>(
        [this, &self](auto handler) {
            std::unique_lock lock{runners_mutex_};
            lane_ref handed;
            if (!pending_.empty()) {
                handed = pending_.front();
                pending_.pop_front();
                pending_count_.fetch_sub(1, std::memory_order_relaxed);
            } else if (idle_.size() < max_idle_runners) {
                idle_.emplace_back(std::move(handler));
                idle_count_.fetch_add(1, std::memory_order_seq_cst);
                return;
            } else {
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

asio::awaitable<void> bus_core::drain(lane_ref l, runner_state& self) {
    std::vector<work_item> batch;
    std::size_t since_yield = 0;
    while (take_batch(l, batch)) {
        for (auto& item : batch) {
            const handler_set* set = handlers_for(item.message.message.type());
            if (item.message.message.kind() == message_kind::command) {
                co_await run_command(set, item, self);
            } else if (set == nullptr || set->events.empty()) {
                counters_.local().unhandled.fetch_add(1, std::memory_order_relaxed);
            } else {
                for (const auto& handler : set->events) {
                    // Inline here rather than in a helper coroutine: Asio recycles two frames per
                    // thread, and the attempt and the handler already take both.
                    const auto failure = co_await attempt_event_handler(handler, item, 1, self);
                    if (failure) {
                        co_await retry_event_handler(handler, item, describe(failure), self);
                    }
                }
            }
            finish(item);
        }
        since_yield += batch.size();
        const auto handled = batch.size();
        batch.clear();
        release_slots(handled);
        if (since_yield >= messages_per_turn) {
            since_yield = 0;
            co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
        }
    }
}

// ---------------------------------------------------------------- delivery

asio::awaitable<std::exception_ptr> bus_core::attempt_event_handler(const handler_entry& handler,
                                                                    work_item& item, std::uint32_t attempt,
                                                                    runner_state& self) {
    context ctx{item.message, dependencies, attempt};
    std::exception_ptr failure;
    std::vector<any_message> raised;
    const handler_timer timer;
    {
        enter_handler(self);
        const handler_scope inside{self};
        try {
            co_await handler.on_event(item.message.message.payload(), ctx);
            raised = ctx.take_raised();  // a failing event source fails the handler
        } catch (...) {
            failure = std::current_exception();
        }
    }
    auto& count = counters_.local();
    timer.stop(count);
    if (failure) {
        count.failed.fetch_add(1, std::memory_order_relaxed);
        co_return failure;  // what it raised is dropped with ctx
    }
    count.handled.fetch_add(1, std::memory_order_relaxed);
    collect(std::move(raised), item);
    co_return nullptr;
}

asio::awaitable<void> bus_core::run_command(const handler_set* set, work_item& item, runner_state& self) {
    if (set == nullptr || !set->command) {
        counters_.local().unhandled.fetch_add(1, std::memory_order_relaxed);
        if (item.cascade) {
            item.cascade->record_error({.handler = "",
                                        .code = std::string{error_code::no_handler},
                                        .message = "no handler for command " + std::string{item.message.name()},
                                        .handled_id = item.message.id},
                                       cascade_status::failed);
        }
        co_return;
    }
    const handler_entry& handler = *set->command;
    context ctx{item.message, dependencies, 1};
    nlohmann::json result;
    std::vector<any_message> raised;
    std::exception_ptr failure;
    const handler_timer timer;
    {
        enter_handler(self);
        const handler_scope inside{self};
        try {
            result = co_await handler.on_command(item.message.message.payload(), ctx);
            raised = ctx.take_raised();
        } catch (...) {
            failure = std::current_exception();
        }
    }
    auto& count = counters_.local();
    timer.stop(count);
    if (failure) {
        count.failed.fetch_add(1, std::memory_order_relaxed);
        if (item.cascade) {
            item.cascade->record_error({.handler = handler.name,
                                        .code = std::string{error_code::command_failed},
                                        .message = describe(failure),
                                        .handled_id = item.message.id},
                                       cascade_status::failed);
        }
        co_return;  // what it raised is dropped with ctx
    }
    count.handled.fetch_add(1, std::memory_order_relaxed);
    if (item.cascade) {
        item.cascade->set_result(std::move(result));
    }
    collect(std::move(raised), item);
}

asio::awaitable<void> bus_core::retry_event_handler(const handler_entry& handler, work_item& item,
                                                    std::string last_error, runner_state& self) {
    std::uint32_t attempts = 1;
    while (attempts < handler.retry.max_attempts) {
        {
            enter_handler(self);  // a backoff suspends this runner just like a handler
            const handler_scope inside{self};
            co_await delays_->wait(handler.retry.backoff(attempts, unit_random()));
        }
        ++attempts;
        counters_.local().retried.fetch_add(1, std::memory_order_relaxed);
        const auto failure = co_await attempt_event_handler(handler, item, attempts, self);
        if (!failure) {
            co_return;
        }
        last_error = describe(failure);
    }
    if (item.cascade) {
        item.cascade->record_error({.handler = handler.name,
                                    .code = std::string{error_code::handler_failed},
                                    .message = last_error,
                                    .handled_id = item.message.id},
                                   cascade_status::partial);
    }
    record_dead_letter(item, handler, std::move(last_error), attempts);
}

void bus_core::collect(std::vector<any_message> events, const work_item& parent) {
    for (auto& raised : events) {
        work_item child{
            .message = envelope{.id = next_id(),
                                .causation_id = parent.message.id,
                                .correlation_id = parent.message.correlation_id,
                                .depth = parent.message.depth + 1,
                                .timestamp = coarse_now(),
                                .message = std::move(raised)},
            .cascade = parent.cascade,
        };
        // Counted before the parent finishes, so the cascade cannot look done in between.
        in_flight_.fetch_add(1, std::memory_order_relaxed);
        if (child.cascade) {
            child.cascade->add_pending();
            child.cascade->record_event(child.message);
        }
        enqueue(std::move(child));
    }
}

void bus_core::finish(work_item& item) {
    if (item.cascade && item.cascade->finish_one()) {
        item.cascade->complete();
    }
    item.cascade.reset();
}

void bus_core::record_dead_letter(const work_item& item, const handler_entry& handler, std::string error,
                                  std::uint32_t attempts) {
    counters_.local().dead_lettered.fetch_add(1, std::memory_order_relaxed);
    const std::scoped_lock lock{dead_letter_mutex_};
    if (options_.dead_letter_capacity == 0) {
        return;
    }
    if (dead_letters_.size() == options_.dead_letter_capacity) {
        dead_letters_.pop_front();
    }
    dead_letters_.push_back({.message = item.message,
                             .handler = handler.name,
                             .error = std::move(error),
                             .attempts = attempts,
                             .at = std::chrono::system_clock::now()});
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
