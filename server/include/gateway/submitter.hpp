#pragma once
// The one path by which the gateway submits to the bus, shared by WebSocket sessions and HTTP
// routes: every cascade it starts also feeds the live feed (which numbers its events in the event
// log), and it refuses once the gateway drains.

#include "cascade/bus.hpp"
#include "gateway/live_feed.hpp"

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>

namespace gateway {

/// A cascade as the gateway sees it: the bus's observer, with each event's seq in the event log
/// (0 for a replayed cascade's event, which is not new) and its serialised wire object.
struct submit_observer {
    std::function<void(cascade::message_id id, bool replay)> on_recorded;
    std::function<void(const cascade::envelope& event, std::uint64_t seq, std::string_view body)> on_event;
    std::function<void(cascade::outcome)> on_done;
};

/// The answer to a submission that waits for its outcome.
struct submission {
    cascade::admission admission = cascade::admission::accepted;
    std::optional<cascade::outcome> outcome;  ///< set when accepted
    /// The seq in the event log of each of the outcome's events, by event id (none for a replay).
    std::unordered_map<cascade::message_id, std::uint64_t> seqs;
};

class submitter {
public:
    /// The feed is shared with the bus's callbacks, which may outlive a stopped server.
    submitter(cascade::bus& bus, std::shared_ptr<live_feed> feed) noexcept : bus_{bus}, feed_{std::move(feed)} {}

    /// try_submit, with every resulting event numbered by the live feed, handed to `observer`,
    /// then offered to the feed's subscriptions. Refuses with shutting_down once stop_accepting()
    /// was called. On a journaled bus a non-empty `options.key` is the submit's idempotency key (a
    /// replay is not fed again); on another it is ignored. `options.principal` goes to the bus as is.
    [[nodiscard]] cascade::submit_result submit(cascade::any_message msg, submit_observer observer,
                                                cascade::submit_options options = {});

    /// Submits without waiting for room and completes, on the awaiting coroutine's executor, with
    /// the outcome or the refusal. Pass `options` as a named object, never as `{…}` inside the
    /// co_await expression: GCC 12 moves an aggregate temporary of a co_await into the coroutine's
    /// frame bitwise, and its strings then free a pointer into the frame. For the same reason there
    /// is an overload without options rather than a default argument.
    [[nodiscard]] boost::asio::awaitable<submission> submit_and_wait(cascade::any_message msg,
                                                                     cascade::submit_options options);
    [[nodiscard]] boost::asio::awaitable<submission> submit_and_wait(cascade::any_message msg);

    /// The journal's key for a client's submit id: the id itself for an anonymous caller, else
    /// the id within its principal's namespace, so that two principals' ids never name the same
    /// submit (neither replays nor reads the other's outcome).
    [[nodiscard]] static std::string journal_key(std::string_view principal, std::string_view id);
    /// bus::find_submit of a client's submit id (journal_key).
    [[nodiscard]] std::optional<cascade::keyed_submit> find_submit(std::string_view principal,
                                                                   std::string_view id) const;

    /// Whether submits are journaled, so that their ids are idempotency keys.
    [[nodiscard]] bool keyed() const noexcept { return bus_.journaled(); }

    /// bus::retry_dead_letter, its events offered to the live feed; refuses with shutting_down
    /// once stop_accepting() was called. std::nullopt when no such letter is kept.
    [[nodiscard]] std::optional<cascade::submit_result> retry(std::uint64_t letter, submit_observer observer);

    /// retry(), completing as submit_and_wait does; std::nullopt when no such letter is kept.
    [[nodiscard]] boost::asio::awaitable<std::optional<submission>> retry_and_wait(std::uint64_t letter);

    /// From now on every submission through the gateway is refused with shutting_down.
    /// (The bus itself is its owner's to shut down.)
    void stop_accepting() noexcept { accepting_.store(false, std::memory_order_release); }
    [[nodiscard]] bool accepting() const noexcept { return accepting_.load(std::memory_order_acquire); }

    [[nodiscard]] const cascade::message_registry& registry() const noexcept { return bus_.registry(); }
    [[nodiscard]] const cascade::bus& bus() const noexcept { return bus_; }
    [[nodiscard]] live_feed& feed() noexcept { return *feed_; }

private:
    using starter = std::function<std::optional<cascade::submit_result>(submit_observer)>;

    /// The bus's observer for `observer`: every event numbered and fed through the live feed;
    /// a replayed cascade's events are not fed again.
    [[nodiscard]] cascade::cascade_observer feeding(submit_observer observer) const;
    /// Starts a cascade through `start` and completes with its outcome, its refusal, or std::nullopt
    /// when `start` found nothing to start.
    [[nodiscard]] static boost::asio::awaitable<std::optional<submission>> await_outcome(starter start);

    cascade::bus& bus_;
    std::shared_ptr<live_feed> feed_;
    std::atomic<bool> accepting_{true};
};

}  // namespace gateway
