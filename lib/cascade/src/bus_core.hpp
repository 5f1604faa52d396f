#pragma once
// The bus's machinery. Internal: include only from lib/cascade/src.
//
// Scheduling (DESIGN.md §4 explains why a strand alone cannot keep per-aggregate order):
// - Each active aggregate has a lane: a FIFO inbox in a sharded map. A drained lane stays warm
//   for the aggregate's next message; warm lanes are swept when a shard holds too many and all
//   of them when the bus goes idle, so idle aggregates cost nothing.
// - Runners are coroutines on the thread pool. A runner owns one lane at a time and awaits its
//   handlers one after another, which keeps a handler's whole execution, across every co_await,
//   before the next one of that aggregate. Other lanes run on other runners meanwhile.
// - Runners are reused rather than spawned per activation (a co_spawn costs 1-3 µs): a lane that
//   becomes active goes to a parked runner, or to the pending queue that busy runners drain.
//   The bus starts one runner per thread; another is spawned only when every runner is inside a
//   handler, the only case where none may come back soon (its handler may await I/O or a timer).
//
// Files: bus_core.cpp (setup, admission, lifecycle), lanes.cpp (lanes and runners),
// delivery.cpp (handlers, retries, collection of raised events).

#include "cascade/bus.hpp"

#include <boost/asio/any_completion_handler.hpp>

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
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
    cascade_state(message_id id, message_kind root_kind, cascade_observer observer);
    /// A cascade dropped unfinished (the bus was cancelled) still reports, as cancelled.
    ~cascade_state();
    cascade_state(const cascade_state&) = delete;
    cascade_state& operator=(const cascade_state&) = delete;

    void add_pending() noexcept { pending_.fetch_add(1, std::memory_order_relaxed); }
    /// True for the caller that finished the cascade's last message.
    [[nodiscard]] bool finish_one() noexcept { return pending_.fetch_sub(1, std::memory_order_acq_rel) == 1; }

    void record_event(const envelope& env);
    void record_error(handler_error error, cascade_status status);
    void set_result(nlohmann::json result);
    void complete();

private:
    std::atomic<std::uint32_t> pending_{1};
    std::mutex mutex_;
    outcome outcome_;
    message_kind root_kind_;
    bool completed_ = false;
    cascade_observer observer_;
};

struct work_item {
    envelope message;
    std::shared_ptr<cascade_state> cascade;  // null when nobody tracks the outcome
};

/// An aggregate key with its hash, computed once per message rather than at every lookup.
struct hashed_key {
    std::size_t hash{};
    std::string_view text;

    explicit hashed_key(std::string_view key) noexcept : hash{std::hash<std::string_view>{}(key)}, text{key} {}
    hashed_key(std::size_t h, std::string_view key) noexcept : hash{h}, text{key} {}
};

struct lane_key {
    std::size_t hash{};
    std::string text;
};

struct lane_key_hash {
    using is_transparent = void;
    [[nodiscard]] std::size_t operator()(const lane_key& k) const noexcept { return k.hash; }
    [[nodiscard]] std::size_t operator()(const hashed_key& k) const noexcept { return k.hash; }
};

struct lane_key_equal {
    using is_transparent = void;
    [[nodiscard]] bool operator()(const lane_key& a, const lane_key& b) const noexcept { return a.text == b.text; }
    [[nodiscard]] bool operator()(const hashed_key& a, const lane_key& b) const noexcept { return a.text == b.text; }
    [[nodiscard]] bool operator()(const lane_key& a, const hashed_key& b) const noexcept { return a.text == b.text; }
};

struct lane {
    std::vector<work_item> inbox;  // guarded by the shard's mutex, like `scheduled`
    bool scheduled = false;        // pending or owned by a runner
};

using lane_map = std::unordered_map<lane_key, lane, lane_key_hash, lane_key_equal>;

/// Lanes live in the map's nodes (stable addresses); runners and the pending queue refer to
/// them by pointer while they are scheduled. A drained lane stays warm (unscheduled) so that
/// the next message of a busy aggregate allocates nothing; warm lanes are swept once a shard
/// holds too many of them, and all of them as soon as the bus is idle.
struct alignas(64) shard {
    std::mutex mutex;
    lane_map lanes;
    std::size_t warm = 0;  // unscheduled lanes in `lanes`
};

/// What a runner owns: the lane and where to find it again.
struct lane_ref {
    lane* target = nullptr;
    const lane_key* key = nullptr;  // the node's key: stable while the lane exists
    explicit operator bool() const noexcept { return target != nullptr; }
};

/// One thread's share of the counters. Each thread writes its own cache line, so counting costs
/// no contention; a snapshot sums the shards and is only approximately consistent.
struct alignas(64) counter_shard {
    std::atomic<std::uint64_t> submitted{0};
    std::atomic<std::uint64_t> handled{0};
    std::atomic<std::uint64_t> failed{0};
    std::atomic<std::uint64_t> retried{0};
    std::atomic<std::uint64_t> dead_lettered{0};
    std::atomic<std::uint64_t> unhandled{0};
    std::array<std::atomic<std::uint64_t>, latency_histogram::bounds_us.size() + 1> latency_buckets{};
    std::atomic<std::int64_t> latency_sum_ns{0};

    void observe_latency(std::chrono::nanoseconds elapsed) noexcept;
};

class counters {
public:
    /// The calling thread's shard.
    [[nodiscard]] counter_shard& local() noexcept;
    [[nodiscard]] metrics_snapshot snapshot() const;

private:
    static constexpr std::size_t shard_count = 16;
    std::array<counter_shard, shard_count> shards_;
};

/// A runner's slot. `state` is written twice per handler by its runner and read, without a
/// lock, by whoever decides whether a new runner is needed or whether anyone is still draining:
/// one cache line per slot.
struct alignas(64) runner_state {
    enum : std::uint8_t { free, outside_handler, inside_handler, parked };
    std::atomic<std::uint8_t> state{free};
};

using lane_handler = boost::asio::any_completion_handler<void(lane_ref)>;

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
    [[nodiscard]] std::size_t resident_lanes() const noexcept {
        return resident_lanes_.load(std::memory_order_relaxed);
    }
    [[nodiscard]] bool accepting() const noexcept { return accepting_.load(std::memory_order_acquire); }
    [[nodiscard]] bus::executor_type executor() const noexcept { return pool_->get_executor(); }

    message_registry registry;
    services dependencies;

private:
    [[nodiscard]] bool idle() const noexcept;  // nothing queued or running, no lane left
    void notify_if_idle();
    [[nodiscard]] bool try_reserve_slot() noexcept;
    void release_slots(std::size_t n) noexcept;
    void refuse_new_registrations() const;
    [[nodiscard]] const handler_set* handlers_for(const message_type& type) const noexcept;
    [[nodiscard]] message_id next_id() noexcept;

    // Lanes and runners.
    void enqueue(work_item item);
    [[nodiscard]] shard& shard_for(std::size_t hash) noexcept;
    [[nodiscard]] bool take_batch(lane_ref l, std::vector<work_item>& batch);
    void sweep_warm_lanes(shard& s);  // s.mutex held
    void sweep_all_warm_lanes();
    void activate(lane_ref l);
    void spawn_runner_if_all_busy();
    void start_runner(runner_state& slot);
    template <class Predicate>  // (const runner_state&, state) -> bool
    [[nodiscard]] bool any_runner(Predicate matches) const noexcept;
    [[nodiscard]] bool all_runners_inside_handlers() const noexcept;
    [[nodiscard]] bool another_runner_draining(const runner_state& self) const noexcept;
    [[nodiscard]] runner_state* take_runner_slot() noexcept;  // runners_mutex_ held
    boost::asio::awaitable<void> run(runner_state& self);
    [[nodiscard]] boost::asio::awaitable<lane_ref> next_lane(runner_state& self);
    [[nodiscard]] lane_ref pop_pending() noexcept;
    [[nodiscard]] lane_ref pop_pending_locked() noexcept;  // runners_mutex_ held
    boost::asio::awaitable<void> drain(lane_ref l, runner_state& self);
    void enter_handler(runner_state& self);

    // Delivery.
    /// One attempt of an event handler: on success its events are collected; else its failure.
    boost::asio::awaitable<std::exception_ptr> attempt_event_handler(const handler_entry& handler, work_item& item,
                                                                     std::uint32_t attempt, runner_state& self);
    boost::asio::awaitable<void> run_command(const handler_set* set, work_item& item, runner_state& self);
    boost::asio::awaitable<void> retry_event_handler(const handler_entry& handler, work_item& item,
                                                     std::string first_error, runner_state& self);
    void collect(std::vector<any_message> events, const work_item& parent);
    void finish(work_item& item);  // completes its cascade; the slot is released per batch
    void record_dead_letter(const work_item& item, const handler_entry& handler, std::string error,
                            std::uint32_t attempts);
    void cancel_everything();
    /// Room waiters are woken together once the queue has drained to this many messages.
    [[nodiscard]] std::size_t low_water() const noexcept { return options_.max_queued - options_.max_queued / 4; }
    enum class wake : std::uint8_t { at_low_water, one_per_free_slot, all_closing };
    void wake_room_waiters(wake how);
    void wake_waiters_if_stalled(const runner_state& self);

    std::uint64_t generation_;  // distinct per bus in this process
    bus_options options_;
    std::shared_ptr<delay_timer> delays_;

    std::vector<handler_set> handlers_;  // by message_type::index; frozen at first submission
    std::atomic<bool> frozen_{false};
    std::atomic<bool> accepting_{true};

    alignas(64) std::atomic<message_id> next_id_block_{0};  // ids are handed to threads in blocks
    alignas(64) std::atomic<std::size_t> in_flight_{0};     // messages queued or running
    alignas(64) std::atomic<std::size_t> active_lanes_{0};  // scheduled lanes
    std::atomic<std::size_t> resident_lanes_{0};            // lanes in memory, scheduled or warm
    std::unique_ptr<shard[]> shards_;
    counters counters_;

    // Runners: parked ones wait in idle_; lanes that found none wait in pending_.
    std::mutex runners_mutex_;
    std::deque<lane_ref> pending_;
    std::vector<lane_handler> idle_;
    /// Runners alive at once. Each is a coroutine frame; all of them inside suspended handlers is
    /// the only case where a newly active lane waits for one to come back.
    static constexpr std::size_t max_runners = 4096;
    std::unique_ptr<runner_state[]> runner_slots_;           // max_runners slots
    std::atomic<std::size_t> runner_slots_used_{0};          // high-water mark of slots ever taken
    alignas(64) std::atomic<std::size_t> pending_count_{0};  // pending_.size(), for lock-free peeks
    std::atomic<std::size_t> idle_count_{0};                 // idle_.size(), for lock-free peeks

    // Submitters waiting for room, each on a channel of its own (thread-safe to send to).
    struct room_waiter;
    std::mutex room_mutex_;
    std::vector<std::shared_ptr<room_waiter>> room_waiters_;
    std::atomic<std::size_t> room_waiter_count_{0};

    std::mutex idle_mutex_;
    std::condition_variable idle_cv_;

    mutable std::mutex dead_letter_mutex_;
    std::deque<dead_letter> dead_letters_;

    // Last member: destroying it destroys every suspended coroutine while the rest still exists.
    mutable std::optional<boost::asio::thread_pool> pool_;
};

}  // namespace cascade::detail
