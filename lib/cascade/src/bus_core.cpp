#include "bus_core.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <random>

namespace cascade::detail {

namespace asio = boost::asio;

namespace {

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

[[nodiscard]] std::size_t bucket_of(std::chrono::nanoseconds elapsed) noexcept {
    const auto us = static_cast<std::uint64_t>(elapsed.count() / 1000);
    const auto& bounds = latency_histogram::bounds_us;
    return static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), us) - bounds.begin());
}

}  // namespace

// ---------------------------------------------------------------- cascade_state

void cascade_state::record_event(const envelope& env) {
    const std::scoped_lock lock{mutex_};
    outcome_.events.push_back(env);
    if (observer_.on_event) {
        observer_.on_event(env);
    }
}

void cascade_state::record_error(handler_error error, cascade_status status) {
    const std::scoped_lock lock{mutex_};
    outcome_.errors.push_back(std::move(error));
    outcome_.status = std::max(outcome_.status, status);  // failed outranks partial outranks ok
}

void cascade_state::set_result(message_id id, nlohmann::json result) {
    const std::scoped_lock lock{mutex_};
    outcome_.id = id;
    outcome_.result = std::move(result);
}

void cascade_state::complete() {
    outcome done;
    {
        const std::scoped_lock lock{mutex_};
        done = std::move(outcome_);
    }
    if (observer_.on_done) {
        observer_.on_done(std::move(done));
    }
}

// ---------------------------------------------------------------- counters

void counters::observe_latency(std::chrono::nanoseconds elapsed) noexcept {
    latency_buckets[bucket_of(elapsed)].fetch_add(1, std::memory_order_relaxed);
    latency_count.fetch_add(1, std::memory_order_relaxed);
    latency_sum_ns.fetch_add(elapsed.count(), std::memory_order_relaxed);
}

// ---------------------------------------------------------------- bus_core

struct bus_core::room_waiter {
    explicit room_waiter(const asio::any_io_executor& ex) : channel{ex, 1} {}
    asio::experimental::concurrent_channel<void(boost::system::error_code)> channel;
};

bus_core::bus_core(bus_options options)
    : options_{std::move(options)},
      pool_{std::max<std::size_t>(1, options_.threads)},
      delays_{options_.delays ? options_.delays : std::make_shared<steady_delay_timer>()},
      shards_{std::make_unique<shard[]>(std::max<std::size_t>(1, options_.shards))} {
    options_.shards = std::max<std::size_t>(1, options_.shards);
}

bus_core::~bus_core() {
    shutdown(std::chrono::nanoseconds::zero());
    pool_.stop();
    pool_.join();
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
    set.command = std::make_unique<handler_entry>(
        handler_entry{.name = std::move(name), .retry = retry_policy::no_retry(), .on_event = {}, .on_command = std::move(invoke)});
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

// ---- admission

bool bus_core::try_reserve_slot() noexcept {
    auto current = in_flight_.load(std::memory_order_relaxed);
    do {
        if (current >= options_.max_queued) {
            return false;
        }
    } while (!in_flight_.compare_exchange_weak(current, current + 1, std::memory_order_acq_rel));
    return true;
}

void bus_core::release_slot() noexcept {
    const auto before = in_flight_.fetch_sub(1, std::memory_order_acq_rel);
    if (room_waiter_count_.load(std::memory_order_acquire) != 0) {
        wake_room_waiters(false);
    }
    if (before == 1) {
        notify_if_idle();
    }
}

bool bus_core::idle() const noexcept {
    return in_flight_.load(std::memory_order_acquire) == 0 && active_lanes_.load(std::memory_order_acquire) == 0;
}

void bus_core::notify_if_idle() {
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
    const message_id id = next_id();
    std::shared_ptr<cascade_state> cascade;
    if (observer.on_event || observer.on_done) {
        cascade = std::make_shared<cascade_state>(std::move(observer));
        cascade->set_result(id, nullptr);
    }
    counters_.submitted.fetch_add(1, std::memory_order_relaxed);
    std::string key{msg.aggregate()};
    enqueue(work_item{
        .message = envelope{.id = id,
                            .causation_id = 0,
                            .correlation_id = id,
                            .depth = 0,
                            .timestamp = std::chrono::system_clock::now(),
                            .aggregate = std::move(key),
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
            room_waiter_count_.fetch_add(1, std::memory_order_release);
        }
        // Registered first, checked second: a release between the two still finds us.
        if (!accepting() || in_flight_.load(std::memory_order_acquire) < options_.max_queued) {
            continue;  // the stale registration is woken harmlessly later
        }
        co_await waiter->channel.async_receive(asio::as_tuple(asio::use_awaitable));
    }
}

void bus_core::wake_room_waiters(bool closing) {
    std::vector<std::shared_ptr<room_waiter>> woken;
    {
        const std::scoped_lock lock{room_mutex_};
        if (!closing && in_flight_.load(std::memory_order_acquire) >= options_.max_queued) {
            return;
        }
        woken.swap(room_waiters_);
        room_waiter_count_.store(0, std::memory_order_release);
    }
    // Everyone retries: waking one could hand the turn to a waiter that already left.
    for (auto& waiter : woken) {
        waiter->channel.try_send(closing ? asio::error::operation_aborted : boost::system::error_code{});
    }
}

// ---- lanes

shard& bus_core::shard_for(std::string_view key) noexcept {
    return shards_[string_hash{}(key) % options_.shards];
}

void bus_core::enqueue(work_item item) {
    auto& s = shard_for(item.message.aggregate);
    std::shared_ptr<lane> started;
    {
        const std::scoped_lock lock{s.mutex};
        auto it = s.lanes.find(std::string_view{item.message.aggregate});
        if (it == s.lanes.end()) {
            auto fresh = std::make_shared<lane>(item.message.aggregate, asio::make_strand(pool_.get_executor()));
            it = s.lanes.emplace(fresh->key, fresh).first;
            active_lanes_.fetch_add(1, std::memory_order_relaxed);
            started = std::move(fresh);
        }
        it->second->inbox.push_back(std::move(item));
    }
    if (started) {
        // The completion handler keeps the lane, and with it the cancellation signal, alive until
        // co_spawn has finished with the slot (after drain's own frame is gone).
        auto slot = started->cancel.slot();
        auto strand = started->strand;
        asio::co_spawn(strand, drain(started),
                       asio::bind_cancellation_slot(slot, [keep_alive = started](const std::exception_ptr&) {}));
    }
}

bool bus_core::take_batch(lane& l, std::vector<work_item>& batch) {
    auto& s = shard_for(l.key);
    {
        const std::scoped_lock lock{s.mutex};
        if (!l.inbox.empty()) {
            batch.swap(l.inbox);
            return true;
        }
        // Erased under the same lock that enqueue takes: a message for this key either landed in
        // this inbox before, or finds no lane and starts a new one after.
        s.lanes.erase(l.key);
    }
    if (active_lanes_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        notify_if_idle();
    }
    return false;
}

asio::awaitable<void> bus_core::drain(std::shared_ptr<lane> l) {
    // Cancellation aborts the operation a handler is waiting on; it must not also abort the
    // drain loop at its next co_await, which still has to finish (fail) every queued item.
    co_await asio::this_coro::throw_if_cancelled(false);
    std::vector<work_item> batch;
    while (take_batch(*l, batch)) {
        for (auto& item : batch) {
            co_await deliver(item);
            finish(item);
        }
        batch.clear();
    }
}

// ---- delivery

asio::awaitable<void> bus_core::deliver(work_item& item) {
    if (cancelled_.load(std::memory_order_acquire)) {
        fail_cancelled(item);
        co_return;
    }
    const handler_set* set = handlers_for(item.message.message.type());
    if (item.message.message.kind() == message_kind::command) {
        if (set == nullptr || !set->command) {
            counters_.unhandled.fetch_add(1, std::memory_order_relaxed);
            if (item.cascade) {
                item.cascade->record_error({.handler = "",
                                            .code = std::string{error_code::no_handler},
                                            .message = "no handler for command " + std::string{item.message.name()},
                                            .handled_id = item.message.id},
                                           cascade_status::failed);
            }
            co_return;
        }
        co_await run_command(*set->command, item);
        co_return;
    }
    if (set == nullptr || set->events.empty()) {
        counters_.unhandled.fetch_add(1, std::memory_order_relaxed);
        co_return;
    }
    for (const auto& handler : set->events) {
        co_await run_event_handler(handler, item);
    }
}

asio::awaitable<void> bus_core::run_command(const handler_entry& handler, work_item& item) {
    context ctx{item.message, dependencies, 1};
    nlohmann::json result;
    std::exception_ptr failure;
    const auto started = std::chrono::steady_clock::now();
    try {
        result = co_await handler.on_command(item.message.message.payload(), ctx);
    } catch (...) {
        failure = std::current_exception();
    }
    counters_.observe_latency(std::chrono::steady_clock::now() - started);
    if (failure) {
        counters_.failed.fetch_add(1, std::memory_order_relaxed);
        if (item.cascade) {
            const bool cancelled = cancelled_.load(std::memory_order_acquire);
            item.cascade->record_error(
                {.handler = handler.name,
                 .code = std::string{cancelled ? error_code::cancelled : error_code::command_failed},
                 .message = describe(failure),
                 .handled_id = item.message.id},
                cascade_status::failed);
        }
        co_return;  // what it raised is dropped with ctx
    }
    counters_.handled.fetch_add(1, std::memory_order_relaxed);
    if (item.cascade) {
        item.cascade->set_result(item.message.id, std::move(result));
    }
    collect(ctx, item);
}

asio::awaitable<void> bus_core::run_event_handler(const handler_entry& handler, work_item& item) {
    // The first attempt inline: the common case pays for no retry machinery.
    std::exception_ptr failure;
    {
        context ctx{item.message, dependencies, 1};
        const auto started = std::chrono::steady_clock::now();
        try {
            co_await handler.on_event(item.message.message.payload(), ctx);
        } catch (...) {
            failure = std::current_exception();
        }
        counters_.observe_latency(std::chrono::steady_clock::now() - started);
        if (!failure) {
            counters_.handled.fetch_add(1, std::memory_order_relaxed);
            collect(ctx, item);
            co_return;
        }
    }
    counters_.failed.fetch_add(1, std::memory_order_relaxed);
    co_await retry_event_handler(handler, item, describe(failure));
}

asio::awaitable<void> bus_core::retry_event_handler(const handler_entry& handler, work_item& item,
                                                    std::string last_error) {
    std::uint32_t attempts = 1;
    while (attempts < handler.retry.max_attempts && !cancelled_.load(std::memory_order_acquire)) {
        bool waited = true;
        try {
            co_await delays_->wait(handler.retry.backoff(attempts, unit_random()));
        } catch (...) {
            waited = false;  // cancelled while backing off
        }
        if (!waited || cancelled_.load(std::memory_order_acquire)) {
            break;
        }
        ++attempts;
        counters_.retried.fetch_add(1, std::memory_order_relaxed);
        context ctx{item.message, dependencies, attempts};
        std::exception_ptr failure;
        const auto started = std::chrono::steady_clock::now();
        try {
            co_await handler.on_event(item.message.message.payload(), ctx);
        } catch (...) {
            failure = std::current_exception();
        }
        counters_.observe_latency(std::chrono::steady_clock::now() - started);
        if (!failure) {
            counters_.handled.fetch_add(1, std::memory_order_relaxed);
            collect(ctx, item);
            co_return;
        }
        counters_.failed.fetch_add(1, std::memory_order_relaxed);
        last_error = describe(failure);
    }
    const bool cancelled = cancelled_.load(std::memory_order_acquire);
    if (item.cascade) {
        item.cascade->record_error({.handler = handler.name,
                                    .code = std::string{cancelled ? error_code::cancelled : error_code::handler_failed},
                                    .message = last_error,
                                    .handled_id = item.message.id},
                                   cascade_status::partial);
    }
    record_dead_letter(item, handler, std::move(last_error), attempts);
}

void bus_core::collect(context& ctx, const work_item& parent) {
    for (auto& raised : ctx.take_raised()) {
        std::string key{raised.aggregate()};
        work_item child{
            .message = envelope{.id = next_id(),
                                .causation_id = parent.message.id,
                                .correlation_id = parent.message.correlation_id,
                                .depth = parent.message.depth + 1,
                                .timestamp = std::chrono::system_clock::now(),
                                .aggregate = std::move(key),
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
    release_slot();
}

void bus_core::fail_cancelled(work_item& item) {
    if (item.cascade) {
        item.cascade->record_error({.handler = "",
                                    .code = std::string{error_code::cancelled},
                                    .message = "cancelled by shutdown before it was handled",
                                    .handled_id = item.message.id},
                                   item.message.message.kind() == message_kind::command ? cascade_status::failed
                                                                                        : cascade_status::partial);
    }
}

void bus_core::record_dead_letter(const work_item& item, const handler_entry& handler, std::string error,
                                  std::uint32_t attempts) {
    counters_.dead_lettered.fetch_add(1, std::memory_order_relaxed);
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

// ---- lifecycle

bool bus_core::wait_idle(std::chrono::nanoseconds timeout) {
    std::unique_lock lock{idle_mutex_};
    return idle_cv_.wait_for(lock, timeout, [this] { return idle(); });
}

void bus_core::stop_accepting() noexcept {
    frozen_.store(true, std::memory_order_release);
    accepting_.store(false, std::memory_order_release);
    wake_room_waiters(true);
}

bool bus_core::shutdown(std::chrono::nanoseconds deadline) {
    stop_accepting();
    if (wait_idle(deadline)) {
        return true;
    }
    cancel_all_lanes();
    // Cancelled handlers unwind at their next suspension; what is queued is failed unhandled.
    if (!wait_idle(std::chrono::seconds{5})) {
        // A handler ignored cancellation; the pool's destruction will reclaim its frame.
    }
    return false;
}

void bus_core::cancel_all_lanes() {
    cancelled_.store(true, std::memory_order_release);
    for (std::size_t i = 0; i < options_.shards; ++i) {
        const std::scoped_lock lock{shards_[i].mutex};
        for (const auto& [key, l] : shards_[i].lanes) {
            asio::post(l->strand, [l] { l->cancel.emit(asio::cancellation_type::terminal); });
        }
    }
}

// ---- observation

metrics_snapshot bus_core::metrics() const {
    metrics_snapshot snapshot{
        .submitted = counters_.submitted.load(std::memory_order_relaxed),
        .handled = counters_.handled.load(std::memory_order_relaxed),
        .failed = counters_.failed.load(std::memory_order_relaxed),
        .retried = counters_.retried.load(std::memory_order_relaxed),
        .dead_lettered = counters_.dead_lettered.load(std::memory_order_relaxed),
        .unhandled = counters_.unhandled.load(std::memory_order_relaxed),
        .queued = in_flight_.load(std::memory_order_relaxed),
        .active_lanes = active_lanes_.load(std::memory_order_relaxed),
        .handler_latency = {},
    };
    auto& histogram = snapshot.handler_latency;
    for (std::size_t i = 0; i < histogram.counts.size(); ++i) {
        histogram.counts[i] = counters_.latency_buckets[i].load(std::memory_order_relaxed);
    }
    histogram.count = counters_.latency_count.load(std::memory_order_relaxed);
    histogram.sum = std::chrono::nanoseconds{counters_.latency_sum_ns.load(std::memory_order_relaxed)};
    return snapshot;
}

std::vector<dead_letter> bus_core::dead_letters() const {
    const std::scoped_lock lock{dead_letter_mutex_};
    return {dead_letters_.begin(), dead_letters_.end()};
}

}  // namespace cascade::detail
