// Delivery: a lane's messages through their handlers, with retries, dead letters and the
// collection of raised events.
#include "bus_core.hpp"
#include "coarse_clock.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <random>

namespace cascade::detail {

namespace asio = boost::asio;

namespace {

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

/// Marks a runner as inside a handler until it leaves, at the latest with the scope
/// (bus_core::enter_handler marks it inside).
class handler_scope {
public:
    explicit handler_scope(runner_state& self) noexcept : self_{&self} {}
    ~handler_scope() { leave(); }
    handler_scope(const handler_scope&) = delete;
    handler_scope& operator=(const handler_scope&) = delete;

    void leave() noexcept { self_->state.store(runner_state::outside_handler, std::memory_order_relaxed); }

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

/// One run of a handler: the runner is inside it until end(), which times the run (only sampled
/// runs read the clock) and counts it as handled or failed.
class handler_run {
public:
    explicit handler_run(runner_state& self) noexcept : inside_{self}, sampled_{sample_latency()} {
        if (sampled_) {
            started_ = std::chrono::steady_clock::now();
        }
    }

    /// `count` is the shard of the thread the run ended on.
    void end(counter_shard& count, bool failed) noexcept {
        inside_.leave();
        if (sampled_) {
            count.observe_latency(std::chrono::steady_clock::now() - started_);
        }
        (failed ? count.failed : count.handled).fetch_add(1, std::memory_order_relaxed);
    }

private:
    handler_scope inside_;
    bool sampled_;
    std::chrono::steady_clock::time_point started_{};
};

}  // namespace

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
                    // Inline rather than in a helper coroutine: one frame fewer per message.
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

asio::awaitable<std::exception_ptr> bus_core::attempt_event_handler(const handler_entry& handler, work_item& item,
                                                                    std::uint32_t attempt, runner_state& self) {
    context ctx{item.message, dependencies, attempt};
    std::exception_ptr failure;
    std::vector<any_message> raised;
    enter_handler(self);
    handler_run run{self};
    try {
        co_await handler.on_event(item.message.message.payload(), ctx);
        raised = ctx.take_raised();  // a failing event source fails the handler
    } catch (...) {
        failure = std::current_exception();
    }
    run.end(counters_.local(), failure != nullptr);
    if (failure) {
        co_return failure;  // what it raised is dropped with ctx
    }
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
    enter_handler(self);
    handler_run run{self};
    try {
        result = co_await handler.on_command(item.message.message.payload(), ctx);
        raised = ctx.take_raised();
    } catch (...) {
        failure = std::current_exception();
    }
    run.end(counters_.local(), failure != nullptr);
    if (failure) {
        if (item.cascade) {
            item.cascade->record_error({.handler = handler.name,
                                        .code = std::string{error_code::command_failed},
                                        .message = describe(failure),
                                        .handled_id = item.message.id},
                                       cascade_status::failed);
        }
        co_return;  // what it raised is dropped with ctx
    }
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

}  // namespace cascade::detail
