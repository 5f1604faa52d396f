#include "delivery.hpp"

#include "cascade_state.hpp"
#include "coarse_clock.hpp"
#include "describe.hpp"

#include <boost/asio/append.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>
#include <random>

namespace cascade::detail {

namespace asio = boost::asio;

namespace {

/// A runner whose handlers never suspend yields the thread after this many messages of one lane,
/// so that completions queued behind a long backlog (timers, outcomes, other coroutines) get their
/// turn. Counted per lane, not across lanes: yielding between the small batches of many lanes
/// let producers interleave with the runners and cost a quarter of the bus's throughput.
constexpr std::size_t messages_per_turn = 256;

[[nodiscard]] double unit_random() {
    thread_local std::mt19937_64 engine{std::random_device{}()};
    return std::uniform_real_distribution<double>{0.0, 1.0}(engine);
}

/// Marks a runner as inside a handler until it leaves, at the latest with the scope
/// (runner_pool::enter_handler marks it inside).
class handler_scope {
public:
    explicit handler_scope(runner_state& self) noexcept : self_{&self} {}
    ~handler_scope() { leave(); }
    handler_scope(const handler_scope&) = delete;
    handler_scope& operator=(const handler_scope&) = delete;

    void leave() noexcept { runner_pool::leave_handler(*self_); }

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
class timed_run {
public:
    explicit timed_run(runner_state& self) noexcept : inside_{self}, sampled_{sample_latency()} {
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
        counter_shard::add(failed ? count.failed : count.handled);
    }

private:
    handler_scope inside_;
    bool sampled_;
    std::chrono::steady_clock::time_point started_{};
};

[[nodiscard]] cascade_status status_of_failure(const work_item& item) noexcept {
    return item.message.message.kind() == message_kind::command ? cascade_status::failed : cascade_status::partial;
}

}  // namespace

asio::awaitable<void> delivery::serve(lane_ref lane, runner_state& self) {
    auto& batch = self.batch;
    std::size_t since_yield = 0;
    while (!cancelled()) {
        switch (p_.lanes.take_batch(lane, batch)) {
            case lane_table::take_status::taken:
                break;
            case lane_table::take_status::emptied:
                co_return;
            case lane_table::take_status::emptied_last:
                p_.host.last_lane_emptied();
                co_return;
        }
        for (self.position = 0; self.position < batch.size(); ++self.position) {
            // A stopping bus takes no further message: the runner waits here until the
            // cancellation has run (on the own pool its thread stops meanwhile and it never returns).
            while (stopping() && !cancelled()) {
                co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
            }
            if (cancelled()) {
                co_return;
            }
            auto& item = batch[self.position];
            const handler_set* set = p_.handlers.find(item.message.message.type());
            if (item.message.message.kind() == message_kind::command) {
                try {
                    co_await run_command(set, item, self);
                } catch (...) {
                    record_machinery_failure(item, set != nullptr && set->command ? set->command->name : std::string{},
                                             std::current_exception());
                }
            } else if (set == nullptr || set->events.empty()) {
                counter_shard::add(p_.counts.local().unhandled);
            } else {
                for (const auto& handler : set->events) {
                    if (item.only != nullptr && item.only != &handler) {
                        continue;  // a dead letter's retry goes to its one handler
                    }
                    try {
                        if (item.recovering && replay_recorded(handler, item)) {
                            continue;
                        }
                        auto thrown = co_await attempt(handler, item, 1, self);
                        if (thrown && !cancelled()) {
                            co_await retry(handler, item, std::move(thrown), self);
                        }
                    } catch (...) {
                        // Only the bus's machinery throws here (handlers' failures are caught where
                        // they run): this handler's delivery ends, the message's others go on.
                        record_machinery_failure(item, handler.name, std::current_exception());
                    }
                    if (cancelled()) {
                        break;
                    }
                }
            }
            if (cancelled()) {
                co_return;  // the cancellation has settled what is left of the batch
            }
            p_.host.settle(item);
        }
        since_yield += batch.size();
        batch.clear();
        self.position = 0;
        if (since_yield >= messages_per_turn) {
            since_yield = 0;
            co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
        }
    }
}

asio::awaitable<void> delivery::run_command(const handler_set* set, work_item& item, runner_state& self) {
    if (set == nullptr || !set->command) {
        counter_shard::add(p_.counts.local().unhandled);
        if (item.cascade) {
            item.cascade->record_error({.handler = "",
                                        .code = std::string{failure::no_handler},
                                        .message = "no handler for command " + std::string{item.message.name()},
                                        .handled_id = item.message.id},
                                       cascade_status::failed);
        }
        co_return;
    }
    const handler_entry& handler = *set->command;
    if (item.recovering && replay_recorded(handler, item)) {
        co_return;
    }
    context ctx{item.message, p_.dependencies, 1, scope_of(item, handler)};
    nlohmann::json result;
    std::vector<any_message> raised;
    std::exception_ptr thrown;
    p_.runners.enter_handler(self);
    timed_run run{self};
    try {
        result = co_await handler.on_command(item.message.message.payload(), ctx);
        raised = ctx.take_raised();
    } catch (...) {
        thrown = std::current_exception();
    }
    run.end(p_.counts.local(), thrown != nullptr);
    if (cancelled()) {
        co_return;  // shutdown already reported this cascade
    }
    if (thrown) {
        if (item.cascade) {
            item.cascade->record_error({.handler = handler.name,
                                        .code = std::string{failure::command_failed},
                                        .message = describe(thrown),
                                        .handled_id = item.message.id},
                                       cascade_status::failed);
        }
        co_return;  // what it raised is dropped with ctx
    }
    auto recorded = ctx.take_recorded_run();  // by the handler's store, with its effects
    if (recorded) {
        result = std::move(recorded->result);  // what recovery will answer too
    } else if (result.is_null()) {
        result = ctx.result();
    }
    auto events = recorded ? std::move(recorded->raised) : identify(std::move(raised));
    if (item.cascade) {
        item.cascade->set_result(result);
        if (item.message.depth == 0) {
            // Handled: a shutdown that cuts it while its run becomes durable says `unfinished`,
            // with this result, not `cancelled` (its effects commit, and the journal resumes it).
            item.cascade->mark_root_settled();
        }
    }
    if (item.journaled) {
        std::exception_ptr lost;
        try {
            co_await make_durable(item, handler, recorded, result, events, self);
        } catch (...) {
            lost = std::current_exception();
        }
        if (cancelled()) {
            co_return;
        }
        if (lost) {
            // Its effects were rolled back with their record: the command did not happen.
            if (item.cascade) {
                item.cascade->set_result(nullptr);
                item.cascade->record_error({.handler = handler.name,
                                            .code = std::string{failure::command_failed},
                                            .message = "its run was not made durable: " + describe(lost),
                                            .handled_id = item.message.id},
                                           cascade_status::failed);
            }
            co_return;
        }
    }
    if (!events.empty()) {
        collect(std::move(events), item, handler.name, false);
    }
}

asio::awaitable<void> delivery::retry(const handler_entry& handler, work_item& item, std::exception_ptr thrown,
                                      runner_state& self) {
    std::uint32_t attempts = 1;
    while (thrown && !cancelled()) {
        if (attempts >= handler.retry.max_attempts) {
            give_up(handler, item, std::string{failure::handler_failed}, describe(thrown), attempts);
            co_return;
        }
        std::exception_ptr backoff_failure;
        {
            p_.runners.enter_handler(self);  // a backoff suspends this runner just like a handler
            const handler_scope inside{self};
            try {
                co_await p_.delays.wait(handler.retry.backoff(attempts, unit_random()));
            } catch (...) {
                backoff_failure = std::current_exception();
            }
        }
        if (cancelled()) {
            co_return;
        }
        if (backoff_failure) {
            give_up(handler, item, std::string{failure::internal},
                    "retry backoff failed: " + describe(backoff_failure) + " (after: " + describe(thrown) + ")",
                    attempts);
            co_return;
        }
        ++attempts;
        counter_shard::add(p_.counts.local().retried);
        thrown = co_await attempt(handler, item, attempts, self);
    }
}

asio::awaitable<std::exception_ptr> delivery::attempt(const handler_entry& handler, work_item& item,
                                                      std::uint32_t number, runner_state& self) {
    context ctx{item.message, p_.dependencies, number, scope_of(item, handler)};
    std::exception_ptr thrown;
    std::vector<any_message> raised;
    p_.runners.enter_handler(self);
    timed_run run{self};
    try {
        co_await handler.on_event(item.message.message.payload(), ctx);
        raised = ctx.take_raised();  // a failing event source fails the handler
    } catch (...) {
        thrown = std::current_exception();
    }
    run.end(p_.counts.local(), thrown != nullptr);
    if (thrown || cancelled()) {
        co_return thrown;  // what it raised is dropped with ctx
    }
    auto recorded = ctx.take_recorded_run();  // by the handler's store, with its effects
    auto events = recorded ? std::move(recorded->raised) : identify(std::move(raised));
    if (item.journaled) {
        const nlohmann::json no_result;  // named: GCC 12 destroys a temporary in a co_await twice
        std::exception_ptr lost;
        try {
            co_await make_durable(item, handler, recorded, no_result, events, self);
        } catch (...) {
            // Not durable: its effects (in the store) were rolled back with their record, so it
            // failed like any attempt, to be retried or dead-lettered.
            lost = std::current_exception();
        }
        if (lost || cancelled()) {
            co_return lost;
        }
    }
    if (!events.empty()) {
        collect(std::move(events), item, handler.name, false);
    }
    co_return nullptr;
}

bool delivery::replay_recorded(const handler_entry& handler, work_item& item) {
    auto run = p_.journal->log().find_run(item.message.id, handler.name, p_.handlers.registry());
    if (!run) {
        counter_shard::add(p_.counts.local().redelivered);
        return false;
    }
    counter_shard::add(p_.counts.local().replayed);
    if (item.cascade && item.message.message.kind() == message_kind::command) {
        item.cascade->set_result(std::move(run->result));
    }
    if (!run->raised.empty()) {
        collect(std::move(run->raised), item, handler.name, true);
    }
    return true;
}

run_scope delivery::scope_of(const work_item& item, const handler_entry& handler) noexcept {
    if (!item.journaled) {
        return {};
    }
    return {.journal = &p_.journal->log(), .ids = &p_.host, .handler = handler.name};
}

handler_run delivery::record_of(const work_item& item, const handler_entry& handler, const nlohmann::json& result,
                                const std::vector<raised_event>& events) {
    return {.message = item.message.id,
            .root = item.message.correlation_id,
            .handler = handler.name,
            .result = result,
            .raised = events};
}

std::vector<raised_event> delivery::identify(std::vector<any_message> raised) {
    std::vector<raised_event> events;
    events.reserve(raised.size());
    for (auto& evt : raised) {
        events.push_back({.id = p_.host.next_id(), .message = std::move(evt)});
    }
    return events;
}

asio::awaitable<void> delivery::make_durable(const work_item& item, const handler_entry& handler,
                                             const std::optional<handler_run>& recorded, const nlohmann::json& result,
                                             const std::vector<raised_event>& events, runner_state& self) {
    // The writes are named: GCC 12 destroys a temporary built inside a co_await twice.
    if (!recorded) {
        auto run = record_of(item, handler, result, events);
        const std::function<void(journal_callback)> write = [&](journal_callback done) {
            p_.journal->record_run(std::move(run), std::move(done));
        };
        co_await await_journal(write, self);
    } else if (recorded->batch != 0) {
        const std::function<void(journal_callback)> commit = [this, batch = recorded->batch](journal_callback done) {
            p_.journal->flush(batch, std::move(done));
        };
        co_await await_journal(commit, self);
    }
}

asio::awaitable<void> delivery::await_journal(const std::function<void(journal_callback)>& start, runner_state& self) {
    p_.runners.enter_handler(self);  // waiting for the journal suspends this runner like a handler
    const handler_scope inside{self};
    auto initiate = [&start](auto handler) {
        // std::function needs a copyable callable: share the move-only handler.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        start([shared](std::exception_ptr failed) { asio::post(asio::append(std::move(*shared), std::move(failed))); });
    };
    co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr)>(initiate,
                                                                                            asio::use_awaitable);
}

void delivery::collect(std::vector<raised_event> events, work_item& parent, const std::string& handler,
                       bool recovering) {
    const auto count = events.size();
    const std::uint32_t depth = parent.message.depth + 1;
    const auto drop = [&](std::size_t n, std::string_view code, std::string message) {
        counter_shard::add(p_.counts.local().dropped, n);
        if (parent.cascade) {
            parent.cascade->record_dropped(n, {.handler = handler,
                                               .code = std::string{code},
                                               .message = std::move(message),
                                               .handled_id = parent.message.id});
        }
    };
    if (depth > limits_.max_depth) {
        drop(count, failure::depth_exceeded,
             std::string{events.front().message.name()} + " raised by " + handler + " would be at depth " +
                 std::to_string(depth) + ", past the limit of " + std::to_string(limits_.max_depth) + "; dropped");
        return;
    }
    if (!parent.cascade) {
        // Nobody tracks this cascade, but its size is still bounded: count it from here on.
        parent.cascade = std::make_shared<cascade_state>(parent.message.correlation_id, parent.message.message.kind(),
                                                         cascade_observer{});
    }
    auto& cascade = *parent.cascade;
    const auto admitted = cascade.admit_events(count, limits_.max_cascade_events);
    if (admitted < count) {
        drop(count - admitted, failure::cascade_too_large,
             "the cascade raised more than " + std::to_string(limits_.max_cascade_events) + " events; " +
                 std::to_string(count - admitted) + " raised by " + handler + " dropped");
    }
    if (admitted == 0) {
        return;
    }
    for (std::size_t i = 0; i < admitted; ++i) {
        work_item child{
            .message = envelope{.id = events[i].id,
                                .causation_id = parent.message.id,
                                .correlation_id = parent.message.correlation_id,
                                .depth = depth,
                                .timestamp = coarse_now(),
                                .principal = parent.message.principal,  // the cascade's submitter
                                .message = std::move(events[i].message)},
            .cascade = parent.cascade,
            .only = nullptr,
            .journaled = parent.journaled,
            .recovering = recovering,
        };
        // Counted before the parent is settled, so that the cascade cannot look done in between;
        // taken back if routing fails (the parent is still pending, so this is never the last).
        cascade.add_pending(1);
        cascade.record_event(child.message);
        try {
            p_.host.route(std::move(child));
        } catch (...) {
            (void)cascade.settle_one();
            throw;
        }
    }
}

void delivery::give_up(const handler_entry& handler, work_item& item, std::string code, std::string error,
                       std::uint32_t attempts) {
    if (item.cascade) {
        item.cascade->record_error(
            {.handler = handler.name, .code = std::move(code), .message = error, .handled_id = item.message.id},
            cascade_status::partial);
    }
    counter_shard::add(p_.counts.local().dead_lettered);
    // Journaled (by the box), the letter is queued before the cascade settles, so before its
    // outcome: a crash that loses the letter loses the outcome too, and recovery delivers the
    // event again.
    (void)p_.dead_letters.keep({.message = item.message,
                                .handler = handler.name,
                                .error = std::move(error),
                                .attempts = attempts,
                                .at = std::chrono::system_clock::now()});
}

void delivery::record_machinery_failure(work_item& item, const std::string& handler, const std::exception_ptr& thrown) {
    if (!item.cascade || cancelled()) {
        return;
    }
    try {
        item.cascade->record_error(
            {.handler = handler,
             .code = std::string{failure::internal},
             .message = "the bus failed while delivering " + std::string{item.message.name()} + ": " + describe(thrown),
             .handled_id = item.message.id},
            status_of_failure(item));
    } catch (...) {
        // Out of memory even for the report: the lane goes on, the cascade still completes.
    }
}

}  // namespace cascade::detail
