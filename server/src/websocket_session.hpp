#pragma once
// One WebSocket connection speaking protocol v1. Beast allows one outstanding read and one
// outstanding write per stream, so a session is a reader coroutine and a writer coroutine on the
// connection's executor, which one thread runs. The bus's threads never touch the socket: they
// queue frames in the session's outbox, whose bound turns a client that stops reading into a 4008
// close. Internal: include only from server/src.

#include "connection.hpp"
#include "gateway/caller.hpp"
#include "gateway/outbox.hpp"
#include "gateway/protocol.hpp"
#include "server_state.hpp"
#include "token_bucket.hpp"
#include "ws_transport.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace gateway {

class websocket_session final : public std::enable_shared_from_this<websocket_session>,
                                public connection,
                                private outbox_waker {
public:
    /// `transport`'s executor must run one handler at a time (one thread, or a strand); `id` names
    /// the session in the welcome frame and the logs; `who` is the client the upgrade authenticated.
    websocket_session(std::unique_ptr<ws_transport> transport, std::string id, std::shared_ptr<server_state> state,
                      caller who);
    ~websocket_session();

    websocket_session(const websocket_session&) = delete;
    websocket_session& operator=(const websocket_session&) = delete;

    /// Accepts the upgrade and runs the session until the connection is over.
    [[nodiscard]] boost::asio::awaitable<void> run(ws_transport::upgrade_request upgrade);

    /// New submits get shutting_down; once every accepted cascade has sent its `done` the
    /// session closes with 1012.
    void begin_drain() override;
    /// Cuts the connection now (the drain deadline passed).
    void abort() override;
    /// The bus's threads find the outbox closed from now on.
    void detach() noexcept override;

    [[nodiscard]] const std::string& id() const noexcept { return id_; }

private:
    using bell_type = boost::asio::experimental::concurrent_channel<void(boost::system::error_code)>;

    [[nodiscard]] boost::asio::awaitable<void> read_loop();
    [[nodiscard]] boost::asio::awaitable<void> write_loop();
    /// Writes the frames in one corked run; false when the connection failed (it is cut).
    [[nodiscard]] boost::asio::awaitable<bool> write_batch(const std::vector<std::string>& batch);
    [[nodiscard]] boost::asio::awaitable<void> close_for_restart();
    /// Closes after the outbox's last frame: 4008 when it overflowed, 4001 when it ended.
    [[nodiscard]] boost::asio::awaitable<void> close_after_last_frame(outbox::queue_state state);
    [[nodiscard]] boost::asio::awaitable<void> close_with(std::uint16_t code, std::string_view reason);
    /// Ends the session when the caller's token expires: a `disconnect` frame, then close 4001.
    [[nodiscard]] boost::asio::awaitable<void> expire_at(std::chrono::sys_seconds deadline);

    void handle_frame(std::string_view text);
    void handle(protocol::submit_request& request);
    void handle(protocol::subscribe_request& request);
    void handle(protocol::unsubscribe_request& request);
    void handle(protocol::ping_request& request);
    void handle(protocol::catalog_request& request);
    /// Feeds subscription `sub` from the event log as fast as its client reads, until it is live.
    [[nodiscard]] boost::asio::awaitable<void> catch_up(std::string sub);
    void reject(std::string_view re, protocol::refusal code, std::string_view message);
    /// duplicate_id: `id` is in use by a submit in flight or a live subscription.
    void reject_duplicate(const std::string& id);
    /// Refuses a submit over the connection's rate, saying when one would be taken.
    void reject_rate(const std::string& id, token_bucket::clock::duration retry_after);
    /// An error about a subscription's start, with where the event log stood when it was judged.
    void reject_offset(std::string_view re, protocol::refusal code, std::string_view message, const log_bounds& log);
    /// catch_up() threw: the subscription ends with `internal`.
    void abandon_catch_up(const std::string& sub, const std::exception_ptr& failed);
    void reply(std::string frame);

    void note_read_end(const boost::system::error_code& ec);
    void note_reason(std::string reason);
    void on_overflow();
    /// The writer may be stuck behind a full socket: the last frame and the close get
    /// close_grace, then the connection is cut.
    void give_close_a_deadline(std::string_view why);
    void cut(std::string_view why);
    void tear_down();

    // outbox_waker: called under the outbox's lock, from any thread.
    void wake() noexcept override;
    void overflowed() noexcept override;

    std::unique_ptr<ws_transport> transport_;
    boost::asio::any_io_executor executor_;  ///< copied once: begin_drain() and the bus threads post here
    std::string id_;
    std::string remote_;
    std::shared_ptr<server_state> state_;
    caller who_;
    std::shared_ptr<outbox> outbox_;
    bell_type bell_;                    ///< rung when the writer has something to do
    boost::asio::steady_timer grace_;   ///< a slow consumer's time to take its disconnect
    boost::asio::steady_timer expiry_;  ///< wakes expire_at()
    token_bucket submits_;              ///< the connection's submit rate (session_limits::submit_rate)
    bool opened_ = false;
    bool torn_down_ = false;
    bool draining_ = false;
    std::string close_reason_;
};

}  // namespace gateway
