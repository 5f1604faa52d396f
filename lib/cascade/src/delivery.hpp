#pragma once
// Delivery: a lane's messages through their handlers. A command's one handler, or each of an
// event's handlers in turn, retried by its policy and then dead-lettered; after each successful
// run the events it raised are collected, under the cascade's limits, and routed to their lanes.
// Internal: include only from lib/cascade/src.

#include "counters.hpp"
#include "dead_letter_box.hpp"
#include "durability.hpp"
#include "handler_table.hpp"
#include "runner_pool.hpp"
#include "work_item.hpp"

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <exception>
#include <string>
#include <vector>

namespace cascade::detail {

/// What delivery needs of the bus around it.
class delivery_host : public id_allocator {
public:  /// Takes a slot for a collected event regardless of the bound and puts it on its lane.
    virtual void route(work_item item) = 0;
    /// The message is done: its cascade's share is settled and its slot freed.
    virtual void settle(work_item& item) noexcept = 0;
    /// The last scheduled lane was emptied.
    virtual void last_lane_emptied() = 0;

protected:
    ~delivery_host() = default;
};

struct delivery_limits {
    std::uint32_t max_depth = 64;
    std::size_t max_cascade_events = 10'000;
};

class delivery final : public lane_server {
public:
    struct parts {
        const handler_table& handlers;
        const services& dependencies;
        delay_timer& delays;
        lane_table& lanes;
        runner_pool& runners;
        counters& counts;
        dead_letter_box& dead_letters;
        delivery_host& host;
        /// The journal's side of the bus; null without one (set before the first submission).
        const std::unique_ptr<durability>& journal;
        /// Set as a cancellation begins: a runner takes no further message from its batch.
        const std::atomic<bool>& stopping;
        /// Set by a cancellation: what a handler did after it is no longer the bus's to record.
        const std::atomic<bool>& cancelled;
    };

    delivery(parts p, delivery_limits limits) noexcept : p_{p}, limits_{limits} {}

    /// Delivers the lane's messages, batch by batch, until it is empty or the bus is cancelled.
    /// Does not throw: a failure of the bus's own machinery (a backoff timer, memory) ends that
    /// message's delivery with an `internal` error on its cascade, and the lane goes on.
    [[nodiscard]] boost::asio::awaitable<void> serve(lane_ref lane, runner_state& self) override;

private:
    /// A command's one handler (events' handlers are awaited from serve itself: one frame fewer per
    /// message).
    [[nodiscard]] boost::asio::awaitable<void> run_command(const handler_set* set, work_item& item, runner_state& self);
    /// The attempts after a first failure, with their backoffs; then the dead letter.
    [[nodiscard]] boost::asio::awaitable<void> retry(const handler_entry& handler, work_item& item,
                                                     std::exception_ptr first, runner_state& self);
    /// One attempt of an event handler: on success its events are collected; else its failure.
    [[nodiscard]] boost::asio::awaitable<std::exception_ptr> attempt(const handler_entry& handler, work_item& item,
                                                                     std::uint32_t number, runner_state& self);
    /// The handler's run is recorded already (recovery): it is not run again; its result and its
    /// events stand. False when it is not.
    [[nodiscard]] bool replay_recorded(const handler_entry& handler, work_item& item);
    /// Where the run of `handler` on `item` is recorded.
    [[nodiscard]] run_scope scope_of(const work_item& item, const handler_entry& handler) noexcept;
    /// The record of a run the bus writes itself.
    [[nodiscard]] static handler_run record_of(const work_item& item, const handler_entry& handler,
                                               const nlohmann::json& result, const std::vector<raised_event>& events);
    /// What a run raised, each event given its id.
    [[nodiscard]] std::vector<raised_event> identify(std::vector<any_message> raised);
    /// Makes a successful run durable before its events are routed: the bus records a run whose
    /// effects are outside the journal's store; a run the store recorded in a transaction not yet
    /// committed waits for that commit. Nothing to wait for when the cascade is not journaled.
    [[nodiscard]] boost::asio::awaitable<void> make_durable(const work_item& item, const handler_entry& handler,
                                                            const std::optional<handler_run>& recorded,
                                                            const nlohmann::json& result,
                                                            const std::vector<raised_event>& events,
                                                            runner_state& self);
    /// Waits, as a handler does, for the journal write that `start` begins.
    [[nodiscard]] boost::asio::awaitable<void> await_journal(const std::function<void(journal_callback)>& start,
                                                             runner_state& self);
    /// `events` is not empty; `recovering` when they come from a recorded run.
    void collect(std::vector<raised_event> events, work_item& parent, const std::string& handler, bool recovering);
    void give_up(const handler_entry& handler, work_item& item, std::string code, std::string error,
                 std::uint32_t attempts);
    void record_machinery_failure(work_item& item, const std::string& handler, const std::exception_ptr& thrown);
    [[nodiscard]] bool cancelled() const noexcept { return p_.cancelled.load(std::memory_order_relaxed); }
    [[nodiscard]] bool stopping() const noexcept { return p_.stopping.load(std::memory_order_relaxed); }

    parts p_;
    delivery_limits limits_;
};

}  // namespace cascade::detail
