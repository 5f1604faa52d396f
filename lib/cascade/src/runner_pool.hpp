#pragma once
// Runners: the coroutines that serve lanes. A runner owns one lane at a time and awaits its
// handlers one after another, which keeps a handler's whole execution, across every co_await,
// before the next one of that aggregate; other lanes run on other runners meanwhile.
// Internal: include only from lib/cascade/src.
//
// Runners are reused rather than spawned per activation (a co_spawn costs 1-3 µs): a lane that
// becomes active goes to a parked runner, or to the pending queue that busy runners take from. The
// pool starts one runner per thread; another is spawned only when every runner is inside a
// handler, the only case where none may come back soon (its handler may await I/O or a timer).

#include "lane_table.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace cascade::detail {

/// A runner's slot. `state` is written twice per handler by its runner and read, without a lock,
/// by whoever decides whether a new runner is needed or whether anyone is still serving: it has
/// a cache line of its own, apart from what only the runner writes.
struct runner_state {
    enum : std::uint8_t { free, serving, inside_handler, parked };
    alignas(64) std::atomic<std::uint8_t> state{free};
    /// The batch being served and the position of the message being handled. Only its runner
    /// touches them, except a cancellation that runs while no runner does.
    alignas(64) std::vector<work_item> batch;
    std::size_t position = 0;
};

/// What a runner does with a lane it was handed.
class lane_server {
public:
    [[nodiscard]] virtual boost::asio::awaitable<void> serve(lane_ref lane, runner_state& self) = 0;

protected:
    ~lane_server() = default;
};

class runner_pool {
public:
    /// Runners run on `executor` and serve lanes with `server`. When a runner stops serving (it
    /// enters a handler or parks) while submitters wait (`waiting` is not 0), and no other runner
    /// is serving, `on_stall` is called. The count is read first: it is cheap, the scan of the
    /// runners is not.
    runner_pool(boost::asio::any_io_executor executor, lane_server& server, const std::atomic<std::size_t>& waiting,
                std::function<void()> on_stall);

    /// Starts `count` runners, each holding `keepalive` until it ends.
    void start(std::size_t count, const std::shared_ptr<void>& keepalive);

    /// Hands a lane that became scheduled to a parked runner, or queues it for the next free one.
    void activate(lane_ref lane);

    /// The runner enters a handler (or a backoff): it may not come back soon.
    void enter_handler(runner_state& self);
    static void leave_handler(runner_state& self) noexcept {
        self.state.store(runner_state::serving, std::memory_order_relaxed);
    }

    /// Whether some runner is serving a lane (outside any handler) now.
    [[nodiscard]] bool any_serving() const noexcept;

    /// No lane is handed out from now on: parked runners are resumed to end, pending lanes dropped,
    /// and the keepalive is let go.
    void close();

    /// Every runner slot ever used; for a cancellation that runs while no runner does.
    template <class F>
    void for_each_runner(F&& f) {
        const auto used = slots_used_.load(std::memory_order_acquire);
        for (std::size_t i = 0; i < used; ++i) {
            f(slots_[i]);
        }
    }

private:
    using lane_handler = boost::asio::any_completion_handler<void(lane_ref)>;

    [[nodiscard]] boost::asio::awaitable<void> run(runner_state& self, std::shared_ptr<void> keepalive);
    [[nodiscard]] boost::asio::awaitable<lane_ref> next_lane(runner_state& self);
    void spawn(runner_state& slot, std::shared_ptr<void> keepalive);
    void spawn_if_all_busy();
    [[nodiscard]] runner_state* take_slot() noexcept;  // mutex_ held
    [[nodiscard]] lane_ref pop_pending_locked() noexcept;
    template <class Predicate>  // (const runner_state&, state) -> bool
    [[nodiscard]] bool any_runner(Predicate matches) const noexcept;
    [[nodiscard]] bool all_inside_handlers() const noexcept;
    void check_stall(const runner_state& self);

    /// Runners alive at once. Each is a coroutine frame; all of them inside suspended handlers is
    /// the only case where a newly active lane waits for one to come back.
    static constexpr std::size_t max_runners = 4096;
    /// Runners parked beyond this many end instead.
    static constexpr std::size_t max_parked = 64;

    boost::asio::any_io_executor executor_;
    lane_server& server_;
    const std::atomic<std::size_t>& waiting_;
    std::function<void()> on_stall_;
    std::shared_ptr<void> keepalive_;  ///< given to every runner spawned later; dropped by close()

    std::mutex mutex_;
    std::deque<lane_ref> pending_;
    std::vector<lane_handler> parked_;
    bool closed_ = false;
    std::unique_ptr<runner_state[]> slots_;
    std::atomic<std::size_t> slots_used_{0};                 ///< high-water mark of slots ever taken
    alignas(64) std::atomic<std::size_t> pending_count_{0};  ///< pending_.size(), for lock-free peeks
    std::atomic<std::size_t> parked_count_{0};               ///< parked_.size(), for lock-free peeks
};

}  // namespace cascade::detail
