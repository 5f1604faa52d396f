#include "websocket_session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/error.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <utility>

namespace gateway {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using protocol::refusal;

namespace {

constexpr auto with_error = net::as_tuple(net::deferred);

std::string describe_close(const websocket::close_reason& reason) {
    if (reason.code == websocket::close_code::none) {
        return "client closed (no code)";
    }
    std::string text = "client closed (" + std::to_string(reason.code);
    if (!reason.reason.empty()) {
        text += " " + std::string{reason.reason.data(), reason.reason.size()};
    }
    return text + ")";
}

}  // namespace

websocket_session::websocket_session(std::unique_ptr<ws_transport> transport, std::string id,
                                     std::shared_ptr<server_state> state, caller who)
    : transport_{std::move(transport)},
      executor_{transport_->get_executor()},
      id_{std::move(id)},
      remote_{transport_->remote()},
      state_{std::move(state)},
      who_{std::move(who)},
      outbox_{std::make_shared<outbox>(queue_limits{.max_frames = state_->options.limits.max_queued_frames,
                                                    .max_bytes = state_->options.limits.max_queued_bytes},
                                       protocol::disconnect_frame(protocol::close_slow_consumer, "slow consumer"))},
      bell_{executor_, 1},
      grace_{executor_},
      expiry_{executor_},
      submits_{state_->options.limits.submit_rate, state_->options.limits.submit_burst} {
    outbox_->attach(this);
}

websocket_session::~websocket_session() {
    // After this no bus thread reaches our bell or executor: they only see a closed outbox.
    detach();
}

net::awaitable<void> websocket_session::run(ws_transport::upgrade_request upgrade) {
    const auto ec = co_await transport_->accept(std::move(upgrade));
    if (ec) {
        spdlog::info("session {} from {}: handshake failed: {}", id_, remote_, ec.message());
        tear_down();
        co_return;
    }
    opened_ = true;
    gateway_metrics::add(state_->metrics.connections_opened);
    spdlog::info("session {} opened from {}", id_, remote_);
    const auto log = state_->submitter.feed().bounds();
    reply(protocol::welcome_frame(id_,
                                  {.max_frame_bytes = state_->options.limits.max_frame_bytes,
                                   .max_in_flight = state_->options.limits.max_in_flight,
                                   .max_queued_frames = state_->options.limits.max_queued_frames,
                                   .max_queued_bytes = state_->options.limits.max_queued_bytes,
                                   .max_subscriptions = state_->options.limits.max_subscriptions,
                                   .submit_rate = state_->options.limits.submit_rate},
                                  {.durable = state_->submitter.bus().durable(),
                                   .log_epoch = log.epoch,
                                   .last_seq = log.last_seq,
                                   .principal = who_.principal,
                                   .expires_at = who_.expires_at}));
    if (who_.expires_at) {
        // The coroutine holds the session; tear_down() cancels its wait.
        net::co_spawn(
            executor_, [self = shared_from_this(), at = *who_.expires_at] { return self->expire_at(at); },
            net::detached);
    }
    try {
        using namespace net::experimental::awaitable_operators;
        co_await (read_loop() && write_loop());
    } catch (const std::exception& e) {
        spdlog::error("session {}: {}", id_, e.what());
        note_reason(std::string{"internal error: "} + e.what());
    }
    tear_down();
}

net::awaitable<void> websocket_session::read_loop() {
    beast::flat_buffer buffer;
    for (;;) {
        const auto [ec, n] = co_await transport_->read(buffer);
        if (ec) {
            note_read_end(ec);
            break;
        }
        gateway_metrics::add(state_->metrics.frames_in);
        gateway_metrics::add(state_->metrics.bytes_in, n);
        if (transport_->got_text()) {
            handle_frame({static_cast<const char*>(buffer.cdata().data()), buffer.size()});
        } else {
            reject({}, refusal::bad_request, "binary frames are not supported: send JSON in text frames");
        }
        buffer.consume(buffer.size());
    }
    // Nothing more can be written once reading has failed or the close handshake is done.
    outbox_->close();
}

net::awaitable<void> websocket_session::write_loop() {
    std::vector<std::string> batch;
    for (;;) {
        batch.clear();
        const auto state = outbox_->take(batch);
        if (state == outbox::queue_state::closed) {
            co_return;
        }
        if (batch.empty()) {
            if (draining_ && outbox_->quiescent()) {
                co_await close_for_restart();
                co_return;
            }
            (void)co_await bell_.async_receive(with_error);
            continue;
        }
        if (!co_await write_batch(batch)) {
            co_return;
        }
        if (state != outbox::queue_state::open) {
            // The disconnect frame was the last of this batch.
            co_await close_after_last_frame(state);
            co_return;
        }
        if (draining_ && outbox_->submits_in_flight() == 0) {
            // Every `done` is queued by now: send what is left once and close, even if the client
            // keeps sending frames that would keep the queue from ever being empty.
            batch.clear();
            const auto last = outbox_->take(batch);
            if (last == outbox::queue_state::closed || (!batch.empty() && !co_await write_batch(batch))) {
                co_return;
            }
            if (last == outbox::queue_state::open) {
                co_await close_for_restart();
            } else {
                co_await close_after_last_frame(last);
            }
            co_return;
        }
    }
}

net::awaitable<bool> websocket_session::write_batch(const std::vector<std::string>& batch) {
    const auto [ec, bytes] = co_await transport_->write(batch);
    if (ec) {
        note_reason("write failed: " + ec.message());
        cut("write failed");
        co_return false;
    }
    gateway_metrics::add(state_->metrics.frames_out, batch.size());
    gateway_metrics::add(state_->metrics.bytes_out, bytes);
    outbox_->written(batch.size(), bytes);
    co_return true;
}

net::awaitable<void> websocket_session::close_after_last_frame(outbox::queue_state state) {
    if (state == outbox::queue_state::overflowed) {
        co_await close_with(protocol::close_slow_consumer, "slow consumer");
    } else {
        // The only other ending today: the token expired.
        co_await close_with(protocol::close_token_expired, "token expired");
    }
}

net::awaitable<void> websocket_session::close_for_restart() {
    co_await close_with(static_cast<std::uint16_t>(websocket::close_code::service_restart), "server shutting down");
}

net::awaitable<void> websocket_session::expire_at(std::chrono::sys_seconds deadline) {
    // Wall-clock time, as `exp` is; re-checked after each wait, so a clock that jumps is followed.
    // In milliseconds: a deadline in the year 9999 does not fit the clock's nanoseconds.
    using std::chrono::milliseconds;
    constexpr milliseconds longest_wait = std::chrono::hours{1};
    for (;;) {
        const auto now = std::chrono::time_point_cast<milliseconds>(std::chrono::system_clock::now());
        const auto left = std::chrono::time_point_cast<milliseconds>(deadline) - now;
        if (left <= milliseconds::zero()) {
            break;
        }
        expiry_.expires_after(std::min(left, longest_wait));
        const auto [ec] = co_await expiry_.async_wait(net::as_tuple(net::use_awaitable));
        if (ec || torn_down_) {
            co_return;  // the session ended first (a wait that completed just before it is not cancelled)
        }
    }
    if (outbox_->end_with(protocol::disconnect_frame(protocol::close_token_expired, "token expired"))) {
        note_reason("token expired (4001)");
        spdlog::info("session {}: the token of {:?} expired; disconnecting", id_, who_.principal);
        give_close_a_deadline("the client did not take its disconnect in time");
    }
}

net::awaitable<void> websocket_session::close_with(std::uint16_t code, std::string_view reason) {
    note_reason(std::string{reason} + " (" + std::to_string(code) + ")");
    const websocket::close_reason why{static_cast<websocket::close_code>(code), reason};
    const auto ec = co_await transport_->close(why);
    if (ec) {
        cut("close failed");
    }
}

void websocket_session::note_read_end(const boost::system::error_code& ec) {
    if (ec == websocket::error::closed) {
        note_reason(describe_close(transport_->peer_reason()));
    } else if (ec == websocket::error::message_too_big) {
        note_reason("frame over " + std::to_string(state_->options.limits.max_frame_bytes) + " bytes (1009)");
    } else if (ec == websocket::error::bad_frame_payload) {
        note_reason("invalid UTF-8 in a text frame (1007)");
    } else if (ec == beast::error::timeout) {
        note_reason("timed out");
    } else {
        note_reason(ec.message());
    }
}

void websocket_session::note_reason(std::string reason) {
    // The first reason is the cause; what follows is usually its consequence.
    if (close_reason_.empty()) {
        close_reason_ = std::move(reason);
    }
}

void websocket_session::on_overflow() {
    gateway_metrics::add(state_->metrics.slow_consumers);
    note_reason("slow consumer (4008)");
    spdlog::warn("session {}: slow consumer, outgoing queue past its bound; disconnecting", id_);
    give_close_a_deadline("slow consumer did not take its disconnect in time");
}

void websocket_session::give_close_a_deadline(std::string_view why) {
    grace_.expires_after(state_->options.limits.close_grace);
    grace_.async_wait([weak = weak_from_this(), why = std::string{why}](const boost::system::error_code& ec) {
        if (auto self = weak.lock(); self && !ec) {
            self->cut(why);
        }
    });
}

void websocket_session::cut(std::string_view why) {
    if (transport_->is_open()) {
        spdlog::debug("session {}: cutting the connection: {}", id_, why);
    }
    transport_->cut();
}

void websocket_session::tear_down() {
    torn_down_ = true;
    grace_.cancel();
    expiry_.cancel();
    // Any flush still pending (a peer that stopped reading) fails now instead of holding the socket.
    transport_->cut();
    state_->submitter.feed().remove_all(*outbox_);
    outbox_->close();
    if (opened_) {
        gateway_metrics::add(state_->metrics.connections_closed);
        spdlog::info("session {} closed: {}", id_,
                     close_reason_.empty() ? std::string{"connection ended"} : close_reason_);
    }
}

void websocket_session::begin_drain() {
    net::post(executor_, [weak = weak_from_this()] {
        if (auto self = weak.lock()) {
            self->draining_ = true;
            self->outbox_->kick();
        }
    });
}

void websocket_session::abort() {
    net::post(executor_, [weak = weak_from_this()] {
        if (auto self = weak.lock()) {
            self->note_reason("server stopped");
            self->cut("server stopped");
        }
    });
}

void websocket_session::detach() noexcept {
    outbox_->attach(nullptr);
    outbox_->close();
}

void websocket_session::wake() noexcept {
    (void)bell_.try_send(boost::system::error_code{});
}

void websocket_session::overflowed() noexcept {
    net::post(executor_, [weak = weak_from_this()] {
        if (auto self = weak.lock()) {
            self->on_overflow();
        }
    });
}

}  // namespace gateway
