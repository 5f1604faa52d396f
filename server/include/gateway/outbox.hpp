#pragma once
// A WebSocket session's outbox: the frames it owes its client, in a bounded queue, and the ids of
// the requests they answer. It is all the bus's threads ever touch of a session. Thread-safe; the
// session's writer takes the frames.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace gateway {

/// How an outbox tells its session that something happened; called under the outbox's lock, so
/// an implementation only posts or signals, never blocks or calls back in.
class outbox_waker {
public:
    /// Frames were queued (or the state changed) while the writer was waiting.
    virtual void wake() noexcept = 0;
    /// The queue passed its bound: the client is a slow consumer.
    virtual void overflowed() noexcept = 0;

protected:
    ~outbox_waker() = default;
};

struct queue_limits {
    std::size_t max_frames = 16'384;
    std::size_t max_bytes = 8 * 1024 * 1024;
};

/// What a backlog may queue now: so many frames of so many bytes (when the queue is empty, its
/// first frame whatever its size, so that a backlog always moves).
struct backlog_budget {
    std::size_t frames = 0;
    std::size_t bytes = 0;
    bool empty = false;  ///< nothing is queued or being written
};

class outbox {
public:
    /// The queue's state as the writer sees it.
    enum class queue_state : std::uint8_t {
        open,        ///< frames flow
        overflowed,  ///< slow consumer: only the disconnect frame is left, then close with 4008
        ending,      ///< the session ends: the frame given to end_with() is the last, then close
        closed,      ///< the session is over: nothing more is written
    };

    /// Outcome of reserving a request id.
    enum class reservation : std::uint8_t { reserved, duplicate, full, closed };

    outbox(queue_limits limits, std::string disconnect_frame);

    outbox(const outbox&) = delete;
    outbox& operator=(const outbox&) = delete;

    // Requests in flight: submits and subscriptions, each kind under a cap of its own.

    /// Reserves `id` for a submit, unless it is in use or `cap` submits are in flight.
    [[nodiscard]] reservation reserve_submit(const std::string& id, std::size_t cap);
    /// Reserves `id` for a subscription, unless it is in use or `cap` subscriptions are live.
    [[nodiscard]] reservation reserve_subscription(const std::string& id, std::size_t cap);
    /// Whether `id` is a live subscription of this session.
    [[nodiscard]] bool is_subscription(const std::string& id) const;
    /// Whether `id` is in use by a submit in flight or a live subscription.
    [[nodiscard]] bool in_use(const std::string& id) const;
    /// Frees `id` (a refused submit or an ended subscription).
    void release(const std::string& id);
    /// Frees the submit `id` and queues its terminal frame, atomically: whoever sees the submit
    /// gone also finds its `done` queued, and the client may reuse the id once it reads `done`.
    void complete_submit(const std::string& id, std::string terminal_frame);
    /// Submits in flight now.
    [[nodiscard]] std::size_t submits_in_flight() const;

    // Outgoing frames.

    /// Queues a frame; false when it was dropped (the outbox is closed or overflowed).
    /// Passing a bound turns the queue into `overflowed` and tells the waker.
    bool send(std::string frame);

    /// Queues `last_frame` (past the bounds if need be) as the last frame: the state turns
    /// `ending` and later frames are dropped. False when the outbox was not open.
    [[nodiscard]] bool end_with(std::string last_frame);

    /// What a backlog (a subscription catching up from the event log) may queue now: what keeps
    /// the queue under half its bounds, so live frames keep room, and at least one frame when the
    /// queue is empty, so a backlog always moves; nothing once closed.
    [[nodiscard]] backlog_budget backlog_room() const;

    /// Moves every queued frame into `out` (writer only). When nothing is queued and the state is
    /// open, arms a wake-up: the waker's wake() is called on the next send, kick or close.
    queue_state take(std::vector<std::string>& out);
    /// The writer has written `frames` frames of `bytes` bytes that it took.
    void written(std::size_t frames, std::size_t bytes);
    /// Wakes a waiting writer without a frame, so it re-checks its own state (draining).
    void kick();
    /// True when no submit is in flight and nothing is queued or being written.
    [[nodiscard]] bool quiescent() const;

    /// The session is over: frames are dropped from now on.
    void close();
    /// Installs (or, with nullptr, removes) the session's waker.
    void attach(outbox_waker* waker);

private:
    bool push_locked(std::string frame);
    void wake_locked();

    mutable std::mutex mutex_;
    queue_limits limits_;
    std::string disconnect_frame_;
    std::deque<std::string> queue_;
    std::size_t frames_ = 0;  ///< queued plus taken and not yet written
    std::size_t bytes_ = 0;
    queue_state state_ = queue_state::open;
    bool writer_waiting_ = false;
    outbox_waker* waker_ = nullptr;
    enum class request_kind : std::uint8_t { submit, subscription };
    std::unordered_map<std::string, request_kind> requests_;
    std::size_t submits_ = 0;
    std::size_t subscriptions_ = 0;
};

}  // namespace gateway
