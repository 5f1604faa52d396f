#pragma once
// The bus's parts put together, and its lifecycle: admission, lanes, runners and delivery; a
// submission's way in; idleness; and shutdown, which lets cascades finish until a deadline and
// then cancels what is left. Internal: include only from lib/cascade/src.

#include "admission.hpp"
#include "counters.hpp"
#include "dead_letter_box.hpp"
#include "delivery.hpp"
#include "handler_table.hpp"
#include "id_source.hpp"
#include "lane_table.hpp"
#include "runner_pool.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>

namespace cascade::detail {

class bus_core final : public std::enable_shared_from_this<bus_core>, private delivery_host {
public:
    explicit bus_core(bus_options options);
    /// Cancels whatever is left and destroys the own pool, with every coroutine it still holds.
    ~bus_core();
    bus_core(const bus_core&) = delete;
    bus_core& operator=(const bus_core&) = delete;

    /// Starts the runners; called once the core is owned by a shared_ptr.
    void start();

    // Submission.
    [[nodiscard]] submit_result try_submit(any_message msg, cascade_observer observer, submit_options options = {});
    void use_journal(std::shared_ptr<journal> log);
    [[nodiscard]] std::size_t recover();
    [[nodiscard]] bool journaled() const noexcept { return durability_ != nullptr; }
    /// Only on a journaled bus.
    [[nodiscard]] journal& journal_log() const noexcept { return durability_->log(); }
    /// Only on a journaled bus.
    [[nodiscard]] std::optional<keyed_submit> find_submit(std::string_view key) const { return durability_->find(key); }
    /// Delivers a dead letter again, to its one handler, as a new cascade (caused by the letter's
    /// message); the letter leaves the box once admitted. std::nullopt when no such letter is kept.
    [[nodiscard]] std::optional<submit_result> retry_dead_letter(std::uint64_t letter, cascade_observer observer);
    /// Completes once there is room or the bus has stopped accepting (at once if so already).
    void async_wait_for_room(room_waiter handler);

    // Lifecycle.
    [[nodiscard]] bool wait_idle(std::chrono::nanoseconds timeout);
    void stop_accepting() noexcept;
    bool shutdown(std::chrono::nanoseconds deadline);
    /// The bus object is going away: stop accepting and cancel what is left without waiting for
    /// an executor of the application's.
    void close() noexcept;

    // Observation.
    [[nodiscard]] metrics_snapshot metrics() const;
    [[nodiscard]] std::vector<dead_letter> dead_letters() const { return dead_letters_.list(); }
    [[nodiscard]] std::size_t active_lanes() const noexcept { return lanes_.active(); }
    [[nodiscard]] bool accepting() const noexcept { return accepting_.load(std::memory_order_acquire); }
    [[nodiscard]] const boost::asio::any_io_executor& executor() const noexcept { return executor_; }

    handler_table handlers;
    services dependencies;

private:
    /// What sets a retried dead letter apart from a submission.
    struct redelivery {
        message_id causation_id = 0;
        const handler_entry* only = nullptr;
    };

    [[nodiscard]] submit_result admit(any_message msg, cascade_observer observer, redelivery origin,
                                      submit_options options);
    /// admit() for a journaled bus, with the slot held: the message enters its lane once appended.
    [[nodiscard]] submit_result admit_journaled(any_message msg, cascade_observer observer, message_id id,
                                                submit_options options);
    /// The append of `item` called back.
    void enter_journaled(work_item& item, const std::string& key,
                         const std::function<void(message_id, bool)>& on_recorded, const std::exception_ptr& failed);
    /// The dead letters of the journal back in the box, but those of cascades that run again now.
    void restore_letters(journal_state& state);
    /// The observer with its outcome recorded in the journal before on_done sees it.
    [[nodiscard]] cascade_observer recording(cascade_observer observer, const std::string& key);
    // delivery_host
    [[nodiscard]] message_id next_id() noexcept override { return ids_.next(); }
    void route(work_item item) override;
    void settle(work_item& item) noexcept override;
    void last_lane_emptied() override { notify_if_idle(); }

    /// Puts an admitted item on its lane; false when the lanes are closed (the item stays).
    [[nodiscard]] bool enqueue(work_item& item);
    void notify_if_idle();
    [[nodiscard]] bool idle() const noexcept;
    /// A runner stopped serving and saw no other serving: if submitters wait and a slot is free,
    /// confirm the stall a moment later and wake them (see stall_timer_).
    void on_stall();

    /// Whether cancel() waits for the cancellation to have run on an application's executor.
    enum class cancel_wait : std::uint8_t { until_done, no };
    /// Stops everything that runs and reports every unfinished cascade; once.
    void cancel(cancel_wait wait);
    /// The cancellation proper; runs while no runner does.
    void cancel_remaining();

    bus_options options_;
    // The own pool, if any: declared first so that it exists before everything that runs on it,
    // and destroyed explicitly in ~bus_core, before the parts its coroutines refer to.
    std::unique_ptr<boost::asio::thread_pool> own_pool_;
    boost::asio::any_io_executor executor_;
    std::shared_ptr<delay_timer> delays_;

    id_source ids_;
    std::unique_ptr<durability> durability_;  ///< set by use_journal, before the first submission
    std::atomic<bool> recovered_{false};      ///< recover() ran: a journaled bus takes submissions
    counters counts_;
    dead_letter_box dead_letters_;
    admission_control admission_;
    lane_table lanes_;
    runner_pool runners_;  ///< serves lanes with delivery_ (declared below: bound here, used only once started)
    delivery delivery_;

    std::atomic<bool> accepting_{true};
    std::atomic<bool> stopping_{false};    ///< a cancellation began: runners take no further message
    std::atomic<bool> cancelled_{false};   ///< the cancellation ran: runners that come back stop
    std::atomic<bool> cancelling_{false};  ///< the cancellation was started (once)

    std::mutex idle_mutex_;
    std::condition_variable idle_cv_;

    // A stall is confirmed before waiters are woken: with trivial handlers every runner is briefly
    // "not serving" all the time, and waking the waiters at each such moment made producers
    // thrash. The timer is armed by one runner at a time; it is destroyed in ~bus_core, before the
    // own pool.
    std::optional<boost::asio::steady_timer> stall_timer_;
    std::atomic<bool> stall_armed_{false};
};

}  // namespace cascade::detail
