#pragma once
// The bus's machinery. Internal: include only from lib/cascade/src.
//
// Scheduling (DESIGN.md §4): a strand alone serialises the stretches of a coroutine between
// suspension points, not whole handlers, so each aggregate gets a mailbox (`lane::inbox`)
// drained by exactly one coroutine while it has work. The drain coroutine awaits the handlers
// one after another, which is what makes a handler's whole execution, across every co_await,
// finish before the next one of that aggregate starts. It runs on a strand of its own so that
// the cancellation signal can be emitted safely from outside at shutdown. The lane is created
// when a message arrives for an idle aggregate and erased, under the shard lock, by the drain
// coroutine when it finds the inbox empty: idle aggregates cost nothing.

#include "cascade/bus.hpp"

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/strand.hpp>

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace cascade::detail {

struct handler_entry {
    std::string name;
    retry_policy retry;
    event_invoker on_event;      // set for event handlers
    command_invoker on_command;  // set for the command handler
};

/// The handlers of one message type.
struct handler_set {
    std::vector<handler_entry> events;
    std::unique_ptr<handler_entry> command;
};

/// One submitted message and everything it caused, while someone waits for its outcome.
class cascade_state {
public:
    explicit cascade_state(cascade_observer observer) : observer_{std::move(observer)} {}

    void add_pending() noexcept { pending_.fetch_add(1, std::memory_order_relaxed); }
    /// True for the caller that finished the cascade's last message.
    [[nodiscard]] bool finish_one() noexcept { return pending_.fetch_sub(1, std::memory_order_acq_rel) == 1; }

    void record_event(const envelope& env);
    void record_error(handler_error error, cascade_status status);
    void set_result(message_id id, nlohmann::json result);
    void complete();

private:
    std::atomic<std::uint32_t> pending_{1};
    std::mutex mutex_;
    outcome outcome_;
    cascade_observer observer_;
};

struct work_item {
    envelope message;
    std::shared_ptr<cascade_state> cascade;  // null when nobody tracks the outcome
};

using strand_type = boost::asio::strand<boost::asio::thread_pool::executor_type>;

struct lane {
    lane(std::string aggregate_key, strand_type executor)
        : key{std::move(aggregate_key)}, strand{std::move(executor)} {}
    std::string key;
    strand_type strand;
    std::vector<work_item> inbox;              // guarded by the shard's mutex
    boost::asio::cancellation_signal cancel;  // emitted on `strand` only
};

struct string_hash {
    using is_transparent = void;
    [[nodiscard]] std::size_t operator()(std::string_view s) const noexcept {
        return std::hash<std::string_view>{}(s);
    }
};

struct alignas(64) shard {
    std::mutex mutex;
    std::unordered_map<std::string, std::shared_ptr<lane>, string_hash, std::equal_to<>> lanes;
};

/// Lock-free counters; a snapshot is only approximately consistent, which is fine for metrics.
struct counters {
    std::atomic<std::uint64_t> submitted{0};
    std::atomic<std::uint64_t> handled{0};
    std::atomic<std::uint64_t> failed{0};
    std::atomic<std::uint64_t> retried{0};
    std::atomic<std::uint64_t> dead_lettered{0};
    std::atomic<std::uint64_t> unhandled{0};
    std::array<std::atomic<std::uint64_t>, latency_histogram::bounds_us.size() + 1> latency_buckets{};
    std::atomic<std::uint64_t> latency_count{0};
    std::atomic<std::int64_t> latency_sum_ns{0};

    void observe_latency(std::chrono::nanoseconds elapsed) noexcept;
};

class bus_core {
public:
    explicit bus_core(bus_options options);
    ~bus_core();
    bus_core(const bus_core&) = delete;
    bus_core& operator=(const bus_core&) = delete;

    // Registration.
    void add_command_handler(const message_type& type, std::string name, command_invoker invoke);
    void add_event_handler(const message_type& type, std::string name, event_invoker invoke, retry_policy policy);
    void declare(const message_type& type);

    // Submission.
    [[nodiscard]] submit_result try_submit(any_message msg, cascade_observer observer);
    [[nodiscard]] boost::asio::awaitable<void> wait_for_room();

    // Lifecycle.
    [[nodiscard]] bool wait_idle(std::chrono::nanoseconds timeout);
    void stop_accepting() noexcept;
    bool shutdown(std::chrono::nanoseconds deadline);

    // Observation.
    [[nodiscard]] metrics_snapshot metrics() const;
    [[nodiscard]] std::vector<dead_letter> dead_letters() const;
    [[nodiscard]] std::size_t active_lanes() const noexcept { return active_lanes_.load(std::memory_order_relaxed); }
    [[nodiscard]] bool accepting() const noexcept { return accepting_.load(std::memory_order_acquire); }
    [[nodiscard]] bus::executor_type executor() const noexcept { return pool_.get_executor(); }

    message_registry registry;
    services dependencies;

private:
    [[nodiscard]] bool idle() const noexcept;  // nothing queued or running, no lane left
    void notify_if_idle();
    [[nodiscard]] bool try_reserve_slot() noexcept;
    void release_slot() noexcept;
    void refuse_new_registrations() const;
    [[nodiscard]] const handler_set* handlers_for(const message_type& type) const noexcept;
    [[nodiscard]] message_id next_id() noexcept { return next_id_.fetch_add(1, std::memory_order_relaxed); }

    void enqueue(work_item item);
    [[nodiscard]] shard& shard_for(std::string_view key) noexcept;
    [[nodiscard]] bool take_batch(lane& l, std::vector<work_item>& batch);
    boost::asio::awaitable<void> drain(std::shared_ptr<lane> l);
    boost::asio::awaitable<void> deliver(work_item& item);
    boost::asio::awaitable<void> run_command(const handler_entry& handler, work_item& item);
    boost::asio::awaitable<void> run_event_handler(const handler_entry& handler, work_item& item);
    boost::asio::awaitable<void> retry_event_handler(const handler_entry& handler, work_item& item,
                                                     std::string first_error);
    void collect(context& ctx, const work_item& parent);
    void finish(work_item& item);
    void fail_cancelled(work_item& item);
    void record_dead_letter(const work_item& item, const handler_entry& handler, std::string error,
                            std::uint32_t attempts);
    void cancel_all_lanes();
    void wake_room_waiters(bool closing);

    bus_options options_;
    mutable boost::asio::thread_pool pool_;
    std::shared_ptr<delay_timer> delays_;

    std::vector<handler_set> handlers_;  // by message_type::index; frozen at first submission
    std::atomic<bool> frozen_{false};
    std::atomic<bool> accepting_{true};
    std::atomic<bool> cancelled_{false};

    std::atomic<message_id> next_id_{1};
    std::atomic<std::size_t> in_flight_{0};  // messages queued or running
    std::atomic<std::size_t> active_lanes_{0};
    std::unique_ptr<shard[]> shards_;
    counters counters_;

    // Submitters waiting for room, each on a channel of its own (thread-safe to send to).
    struct room_waiter;
    std::mutex room_mutex_;
    std::vector<std::shared_ptr<room_waiter>> room_waiters_;
    std::atomic<std::size_t> room_waiter_count_{0};

    std::mutex idle_mutex_;
    std::condition_variable idle_cv_;

    mutable std::mutex dead_letter_mutex_;
    std::deque<dead_letter> dead_letters_;
};

}  // namespace cascade::detail
