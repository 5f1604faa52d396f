#include "bus_core.hpp"

#include "cascade_state.hpp"
#include "coarse_clock.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <algorithm>
#include <future>
#include <stdexcept>
#include <string>
#include <unordered_map>

namespace cascade::detail {

namespace asio = boost::asio;

namespace {

[[nodiscard]] bus_options normalized(bus_options options) {
    options.threads = std::max<std::size_t>(1, options.threads);
    options.shards = std::max<std::size_t>(1, options.shards);
    options.max_queued = std::max<std::size_t>(1, options.max_queued);
    return options;
}

[[nodiscard]] asio::any_io_executor runner_executor(const bus_options& options, asio::thread_pool* own_pool) {
    if (own_pool != nullptr) {
        return own_pool->get_executor();
    }
    // The application's executor may run on several threads: a strand keeps the runners, and a
    // cancellation posted among them, one at a time.
    return asio::make_strand(options.executor);
}

}  // namespace

bus_core::bus_core(bus_options options)
    : options_{normalized(std::move(options))},
      own_pool_{options_.executor ? nullptr : std::make_unique<asio::thread_pool>(options_.threads)},
      executor_{runner_executor(options_, own_pool_.get())},
      delays_{options_.delays ? options_.delays : std::make_shared<steady_delay_timer>()},
      dead_letters_{options_.dead_letter_capacity},
      admission_{options_.max_queued},
      lanes_{options_.shards},
      runners_{executor_, delivery_, admission_.waiting_count(), [this] { on_stall(); }},
      delivery_{{.handlers = handlers,
                 .dependencies = dependencies,
                 .delays = *delays_,
                 .lanes = lanes_,
                 .runners = runners_,
                 .counts = counts_,
                 .dead_letters = dead_letters_,
                 .host = *this,
                 .journal = durability_,
                 .stopping = stopping_,
                 .cancelled = cancelled_},
                {.max_depth = options_.max_depth, .max_cascade_events = options_.max_cascade_events}},
      stall_timer_{std::in_place, executor_} {}

bus_core::~bus_core() {
    close();
    if (durability_) {
        durability_->wait_quiet();  // no journal callback may reach the parts or the pool after this
    }
    stall_timer_.reset();  // an I/O object goes before its execution context
    own_pool_.reset();     // destroys every coroutine still suspended in it, while the parts exist
}

void bus_core::start() {
    // On the application's executor a runner may outlive the bus object: it keeps the core alive.
    runners_.start(options_.threads, own_pool_ ? nullptr : shared_from_this());
}

// ---------------------------------------------------------------- submission

submit_result bus_core::try_submit(any_message msg, cascade_observer observer, submit_options options) {
    return admit(std::move(msg), std::move(observer), {}, std::move(options));
}

std::optional<submit_result> bus_core::retry_dead_letter(std::uint64_t letter, cascade_observer observer) {
    auto taken = dead_letters_.take(letter);
    if (!taken) {
        return std::nullopt;
    }
    const handler_entry* handler = nullptr;
    if (const handler_set* set = handlers.find(taken->message.message.type())) {
        const auto it = std::ranges::find(set->events, taken->handler, &handler_entry::name);
        handler = it == set->events.end() ? nullptr : &*it;
    }
    if (durability_) {
        // The journal keeps the letter until its retry is done, so a crash meanwhile lists it again.
        observer.on_done = [this, letter, inner = std::move(observer.on_done)](outcome result) {
            if (!cut_by_shutdown(result)) {
                durability_->drop_letter(letter);
            }
            if (inner) {
                inner(std::move(result));
            }
        };
    }
    submit_result admitted;
    try {
        if (handler == nullptr) {  // a letter from the journal, of a handler this build no longer has
            throw std::runtime_error{"dead letter " + std::to_string(letter) + " names no handler of " +
                                     std::string{taken->message.message.name()}};
        }
        // Redelivered on behalf of whoever submitted the cascade that raised the letter's message.
        admitted =
            admit(taken->message.message, std::move(observer), {.causation_id = taken->message.id, .only = handler},
                  {.key = {}, .principal = taken->message.principal});
    } catch (...) {
        dead_letters_.put_back(std::move(*taken));
        throw;
    }
    if (!admitted) {
        dead_letters_.put_back(std::move(*taken));  // refused: still a dead letter, to retry later
    }
    return admitted;
}

submit_result bus_core::admit(any_message msg, cascade_observer observer, redelivery origin, submit_options options) {
    if (!options.key.empty() && !durability_) {
        throw std::logic_error{"an idempotency key needs a journal (bus::use_journal)"};
    }
    if (durability_ && !recovered_.load(std::memory_order_acquire)) {
        // Until then ids could collide with the journal's, and its unfinished keys be unknown.
        throw std::logic_error{"a journaled bus takes submissions once recover() has run"};
    }
    handlers.freeze();
    if (!accepting()) {
        return {.status = admission::shutting_down, .id = 0};
    }
    if (!admission_.try_acquire()) {
        return {.status = admission::overloaded, .id = 0};
    }
    // Checked again with the slot held: shutdown() stops accepting, then waits for no slot to be
    // held, so either it sees this slot or this sees it closed.
    if (!accepting_.load(std::memory_order_seq_cst)) {
        (void)admission_.release(1);
        notify_if_idle();
        return {.status = admission::shutting_down, .id = 0};
    }
    const message_id id = ids_.next();
    // A dead letter's retry is not journaled; its letter is, until the retry is done, so a crash
    // meanwhile lists the letter again (a retry is at least once).
    if (durability_ && origin.only == nullptr) {
        return admit_journaled(std::move(msg), std::move(observer), id, std::move(options));
    }
    std::shared_ptr<cascade_state> cascade;
    if (observer.on_event || observer.on_done) {
        try {
            cascade = std::make_shared<cascade_state>(id, msg.kind(), std::move(observer));
        } catch (...) {
            (void)admission_.release(1);
            throw;
        }
    }
    work_item item{.message = envelope{.id = id,
                                       .causation_id = origin.causation_id,
                                       .correlation_id = id,
                                       .depth = 0,
                                       .timestamp = coarse_now(),
                                       .principal = std::move(options.principal),
                                       .message = std::move(msg)},
                   .cascade = std::move(cascade),
                   .only = origin.only};
    bool queued = false;
    try {
        queued = enqueue(item);
    } catch (...) {
        // Never admitted: no report, no slot.
        if (item.cascade) {
            item.cascade->dismiss();
        }
        (void)admission_.release(1);
        throw;
    }
    if (!queued) {  // a cancellation closed the lanes meanwhile
        if (item.cascade) {
            item.cascade->dismiss();
        }
        (void)admission_.release(1);
        notify_if_idle();
        return {.status = admission::shutting_down, .id = 0};
    }
    counter_shard::add(counts_.local().submitted);
    return {.status = admission::accepted, .id = id};
}

void bus_core::async_wait_for_room(room_waiter handler) {
    admission_.async_wait(std::move(handler));
    // Room above the low-water mark: the waiter sleeps until a release reaches the mark, unless
    // nothing is being released any more. The stall check covers that case too.
    on_stall();
}

bool bus_core::enqueue(work_item& item) {
    const auto queued = lanes_.enqueue(item);
    if (queued.refused) {
        return false;
    }
    if (queued.activated) {
        runners_.activate(queued.activated);
    }
    return true;
}

void bus_core::route(work_item item) {
    admission_.acquire_unchecked(1);
    bool queued = false;
    try {
        queued = enqueue(item);
    } catch (...) {
        (void)admission_.release(1);
        throw;
    }
    if (!queued) {
        // Only after a cancellation, which reported the cascade already.
        (void)admission_.release(1);
    }
}

// ---------------------------------------------------------------- settling

void bus_core::settle(work_item& item) noexcept {
    if (item.cascade) {
        if (item.message.depth == 0) {
            item.cascade->mark_root_settled();
        }
        if (item.cascade->settle_one()) {
            item.cascade->complete();
        }
        item.cascade.reset();
    }
    // A slot is freed as soon as its message is done, not when its batch is.
    if (admission_.release(1) == 0) {
        notify_if_idle();
    }
}

// ---------------------------------------------------------------- lifecycle

void bus_core::on_stall() {
    // How long a stall must last before waiters are woken: long next to a trivial handler, short
    // next to anything a person would notice. Only waiters that find room while nothing is being
    // released (handlers that publish to their own bus, say) ever depend on it.
    constexpr std::chrono::milliseconds confirmation{1};
    if (admission_.waiting() == 0 || !admission_.has_room() || stall_armed_.exchange(true)) {
        return;
    }
    stall_timer_->expires_after(confirmation);
    stall_timer_->async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
        const auto self = weak.lock();
        if (!self) {
            return;
        }
        self->stall_armed_.store(false);
        // Still nobody serving: no release is coming that would wake the waiters.
        if (!ec && !self->runners_.any_serving()) {
            self->admission_.wake_if_room();
        }
    });
}

bool bus_core::idle() const noexcept {
    return admission_.in_use() == 0 && lanes_.active() == 0 && lanes_.resident() == 0;
}

void bus_core::notify_if_idle() {
    if (admission_.in_use() == 0 && lanes_.active() == 0) {
        lanes_.sweep_warm();  // an idle bus keeps no lane
    }
    if (idle()) {
        // Lock so that a waiter between its check and its wait cannot miss the notification.
        const std::scoped_lock lock{idle_mutex_};
        idle_cv_.notify_all();
    }
}

bool bus_core::wait_idle(std::chrono::nanoseconds timeout) {
    std::unique_lock lock{idle_mutex_};
    return idle_cv_.wait_for(lock, timeout, [this] { return idle(); });
}

void bus_core::stop_accepting() noexcept {
    handlers.freeze();
    accepting_.store(false, std::memory_order_seq_cst);
    admission_.close();
}

bool bus_core::shutdown(std::chrono::nanoseconds deadline) {
    stop_accepting();
    if (wait_idle(deadline)) {
        return true;
    }
    cancel(cancel_wait::until_done);
    return false;
}

void bus_core::close() noexcept {
    stop_accepting();
    cancel(cancel_wait::no);
}

void bus_core::cancel(cancel_wait wait) {
    if (cancelling_.exchange(true)) {
        return;
    }
    if (own_pool_) {
        // Our threads finish what they are running (a handler runs until it next suspends; a
        // runner takes no further message) and stop: from then on nothing of the bus runs, so the
        // cancellation sees every message where it is, and what a handler completed is reported
        // as done, not cancelled.
        stopping_.store(true, std::memory_order_seq_cst);
        own_pool_->stop();
        own_pool_->join();
        cancel_remaining();
        return;
    }
    // Runners take no further message from now on; parked ones are let go at once: they hold the
    // core, and the core holds them while they are parked, which would keep both alive if the
    // application's context never runs again.
    stopping_.store(true, std::memory_order_seq_cst);
    runners_.close();
    // On the application's executor the cancellation runs among the runners, on their strand.
    const auto self = weak_from_this().lock();
    if (!self) {
        cancel_remaining();  // the core is being destroyed: no runner is left to race with
        return;
    }
    auto ran = std::make_shared<std::promise<void>>();
    auto done = ran->get_future();
    asio::post(executor_, [self, ran] {
        self->cancel_remaining();
        ran->set_value();
    });
    if (wait == cancel_wait::until_done) {
        done.wait();
    }
}

void bus_core::cancel_remaining() {
    stopping_.store(true, std::memory_order_seq_cst);
    cancelled_.store(true, std::memory_order_seq_cst);
    struct cut {
        std::size_t unhandled = 0;
        message_id first{};
    };
    std::unordered_map<std::shared_ptr<cascade_state>, cut> cascades;
    std::size_t freed = 0;
    const auto take = [&](work_item& item) {
        ++freed;
        if (item.cascade) {
            auto& c = cascades[std::move(item.cascade)];
            if (c.unhandled++ == 0) {
                c.first = item.message.id;
            }
        }
    };
    // Runners first: once closed they take no lane, so none can be handed one that close() below
    // forgets.
    runners_.close();
    lanes_.close(take);
    // What runners hold stays where it is (a suspended handler may still refer to it); only its
    // cascades and slots are taken.
    runners_.for_each_runner([&](runner_state& runner) {
        for (auto i = runner.position; i < runner.batch.size(); ++i) {
            take(runner.batch[i]);
        }
    });
    (void)admission_.release(freed);
    for (const auto& [cascade, c] : cascades) {
        cascade->abandon(c.unhandled, c.first);
    }
    notify_if_idle();
}

// ---------------------------------------------------------------- observation

metrics_snapshot bus_core::metrics() const {
    auto snapshot = counts_.snapshot();
    snapshot.queued = admission_.in_use();
    snapshot.active_lanes = lanes_.active();
    snapshot.resident_lanes = lanes_.resident();
    snapshot.waiting = admission_.waiting();
    return snapshot;
}

}  // namespace cascade::detail
