#include "gateway/session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/error.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <exception>
#include <mutex>
#include <optional>
#include <variant>
#include <utility>

namespace gateway {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using protocol::error_code;

namespace {

constexpr auto with_error = net::as_tuple(net::deferred);

/// The frames of one accepted submit. The bus may report events before try_submit has returned,
/// so whichever comes first (the reader's ack or the first callback) sends the ack, and the
/// others wait for it: `ack` always precedes `event` and `done`.
class submit_tracker {
public:
    submit_tracker(std::shared_ptr<connection> conn, std::string id) noexcept
        : conn_{std::move(conn)}, id_{std::move(id)} {}

    void acknowledge(cascade::message_id message) {
        // Not std::call_once: glibc's ends every first call with a futex wake-up system call,
        // one per submit. The mutex is almost never contended, and the flag skips it after the ack.
        if (acked_.load(std::memory_order_acquire)) {
            return;
        }
        const std::scoped_lock lock{ack_mutex_};
        if (!acked_.load(std::memory_order_relaxed)) {
            (void)conn_->send(protocol::ack_frame(id_, message));
            acked_.store(true, std::memory_order_release);
        }
    }

    void on_event(const cascade::envelope& event) {
        acknowledge(event.correlation_id);
        // on_event calls of one cascade never overlap, so n needs no lock.
        (void)conn_->send(protocol::event_frame(id_, ++events_, event));
    }

    void on_done(const cascade::outcome& outcome) {
        acknowledge(outcome.id);
        conn_->finish(id_, protocol::done_frame(id_, outcome));
    }

    [[nodiscard]] static cascade::cascade_observer observer(const std::shared_ptr<submit_tracker>& self) {
        return {.on_event = [self](const cascade::envelope& event) { self->on_event(event); },
                .on_done = [self](cascade::outcome outcome) { self->on_done(outcome); }};
    }

private:
    std::shared_ptr<connection> conn_;
    std::string id_;
    std::mutex ack_mutex_;
    std::atomic<bool> acked_{false};
    std::uint64_t events_ = 0;
};

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

ws_session::ws_session(beast::tcp_stream stream, std::string id, session_env env)
    : ws_{std::move(stream)},
      executor_{ws_.get_executor()},
      id_{std::move(id)},
      env_{env},
      conn_{std::make_shared<connection>(
          queue_limits{.max_frames = env.limits.max_queued_frames, .max_bytes = env.limits.max_queued_bytes},
          protocol::disconnect_frame(protocol::close_slow_consumer, "slow consumer"))},
      bell_{executor_, 1},
      grace_{executor_} {
    beast::error_code ec;
    const auto remote = beast::get_lowest_layer(ws_).socket().remote_endpoint(ec);
    remote_ = ec ? std::string{"?"} : remote.address().to_string() + ":" + std::to_string(remote.port());
    conn_->attach(this);
}

ws_session::~ws_session() {
    // After this no bus thread reaches our bell or executor: they only see a closed connection.
    detach();
}

void ws_session::configure() {
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(beast::http::field::server, "cascade-server"); }));
    ws_.read_message_max(env_.limits.max_frame_bytes);
    ws_.auto_fragment(false);
    ws_.text(true);
    ws_.next_layer().write_limit(env_.limits.write_coalesce_bytes);
    if (env_.limits.socket_send_buffer != 0) {
        beast::error_code ignored;
        beast::get_lowest_layer(ws_).socket().set_option(
            net::socket_base::send_buffer_size{static_cast<int>(env_.limits.socket_send_buffer)}, ignored);
    }
}

net::awaitable<void> ws_session::run(beast::http::request<beast::http::string_body> upgrade) {
    configure();
    auto [ec] = co_await ws_.async_accept(upgrade, with_error);
    if (ec) {
        spdlog::info("session {} from {}: handshake failed: {}", id_, remote_, ec.message());
        finish();
        co_return;
    }
    opened_ = true;
    gateway_metrics::add(env_.metrics.connections_opened);
    spdlog::info("session {} opened from {}", id_, remote_);
    reply(protocol::welcome_frame(id_, {.max_frame_bytes = env_.limits.max_frame_bytes,
                                        .max_in_flight = env_.limits.max_in_flight,
                                        .max_queued_frames = env_.limits.max_queued_frames,
                                        .max_queued_bytes = env_.limits.max_queued_bytes}));
    try {
        using namespace net::experimental::awaitable_operators;
        co_await (read_loop() && write_loop());
    } catch (const std::exception& e) {
        spdlog::error("session {}: {}", id_, e.what());
        note_reason(std::string{"internal error: "} + e.what());
    }
    finish();
}

net::awaitable<void> ws_session::read_loop() {
    beast::flat_buffer buffer;
    for (;;) {
        auto [ec, n] = co_await ws_.async_read(buffer, with_error);
        if (ec) {
            note_read_end(ec);
            break;
        }
        gateway_metrics::add(env_.metrics.frames_in);
        gateway_metrics::add(env_.metrics.bytes_in, n);
        if (ws_.got_text()) {
            handle_frame({static_cast<const char*>(buffer.cdata().data()), buffer.size()});
        } else {
            reject({}, error_code::bad_request, "binary frames are not supported: send JSON in text frames");
        }
        buffer.consume(buffer.size());
    }
    // Nothing more can be written once reading has failed or the close handshake is done.
    conn_->close();
}

net::awaitable<void> ws_session::write_loop() {
    std::vector<std::string> batch;
    for (;;) {
        batch.clear();
        const auto state = conn_->take(batch);
        if (state == connection::queue_state::closed) {
            co_return;
        }
        if (batch.empty()) {
            if (draining_ && conn_->quiescent()) {
                co_await close_with(static_cast<std::uint16_t>(websocket::close_code::service_restart),
                                    "server shutting down");
                co_return;
            }
            (void)co_await bell_.async_receive(with_error);
            continue;
        }
        std::size_t bytes = 0;
        ws_.next_layer().cork();
        for (const auto& frame : batch) {
            auto [ec, n] = co_await ws_.async_write(net::buffer(frame), with_error);
            if (ec) {
                ws_.next_layer().uncork();
                note_reason("write failed: " + ec.message());
                cut("write failed");
                co_return;
            }
            bytes += n;
        }
        ws_.next_layer().uncork();
        gateway_metrics::add(env_.metrics.frames_out, batch.size());
        gateway_metrics::add(env_.metrics.bytes_out, bytes);
        conn_->written(batch.size(), bytes);
        if (state == connection::queue_state::overflowed) {
            // The disconnect frame was the last of this batch.
            co_await close_with(protocol::close_slow_consumer, "slow consumer");
            co_return;
        }
    }
}

net::awaitable<void> ws_session::close_with(std::uint16_t code, std::string_view reason) {
    note_reason(std::string{reason} + " (" + std::to_string(code) + ")");
    websocket::close_reason why{static_cast<websocket::close_code>(code), reason};
    auto [ec] = co_await ws_.async_close(why, with_error);
    if (ec) {
        cut("close failed");
    }
}

void ws_session::handle_frame(std::string_view text) {
    auto parsed = protocol::parse_request(text);
    if (auto* error = std::get_if<protocol::request_error>(&parsed)) {
        reject(error->re.value_or(std::string{}), error->code, error->message);
        return;
    }
    auto& request = std::get<protocol::request>(parsed);
    try {
        std::visit([this](auto& r) { handle(r); }, request);
    } catch (const std::exception& e) {
        spdlog::error("session {}: request {} failed: {}", id_, protocol::id_of(request), e.what());
        reject(protocol::id_of(request), error_code::internal, e.what());
    }
}

void ws_session::handle(protocol::submit_request& request) {
    if (draining_ || !env_.gateway.accepting()) {
        reject(request.id, error_code::shutting_down, "the server is shutting down");
        return;
    }
    std::optional<cascade::any_message> msg;
    try {
        msg.emplace(env_.gateway.registry().decode(request.name, request.data));
    } catch (const cascade::decode_error& e) {
        reject(request.id, protocol::from_decode(e.code()), e.what());
        return;
    }
    switch (conn_->reserve_submit(request.id, env_.limits.max_in_flight)) {
        case connection::reservation::reserved: break;
        case connection::reservation::duplicate:
            reject(request.id, error_code::duplicate_id, "id: '" + request.id + "' is already in flight");
            return;
        case connection::reservation::full:
            reject(request.id, error_code::overloaded,
                   "too many submits in flight on this connection (" + std::to_string(env_.limits.max_in_flight) +
                       ")");
            return;
        case connection::reservation::closed: return;
    }
    auto tracker = std::make_shared<submit_tracker>(conn_, request.id);
    cascade::submit_result admitted;
    try {
        admitted = env_.gateway.submit(std::move(*msg), submit_tracker::observer(tracker));
    } catch (...) {
        conn_->release(request.id);
        throw;
    }
    if (!admitted) {
        conn_->release(request.id);
        if (admitted.status == cascade::admission::overloaded) {
            reject(request.id, error_code::overloaded, "the bus is full; try again");
        } else {
            reject(request.id, error_code::shutting_down, "the server is shutting down");
        }
        return;
    }
    tracker->acknowledge(admitted.id);
}

void ws_session::handle(protocol::subscribe_request& request) {
    switch (conn_->reserve_subscription(request.id)) {
        case connection::reservation::reserved: break;
        case connection::reservation::duplicate:
            reject(request.id, error_code::duplicate_id, "id: '" + request.id + "' is already in flight");
            return;
        case connection::reservation::full:
        case connection::reservation::closed: return;
    }
    // The answer goes first, so no feed event of this subscription can overtake it.
    reply(protocol::subscribed_frame(request.id));
    env_.gateway.feed().add(conn_, request.id,
                            feed_filter{.names = std::move(request.names), .aggregates = std::move(request.aggregates)});
}

void ws_session::handle(protocol::unsubscribe_request& request) {
    if (conn_->in_use(request.id)) {
        reject(request.id, error_code::duplicate_id, "id: '" + request.id + "' is already in flight");
        return;
    }
    if (!conn_->is_subscription(request.sub)) {
        reject(request.id, error_code::bad_request, "sub: no subscription '" + request.sub + "' on this connection");
        return;
    }
    env_.gateway.feed().remove(*conn_, request.sub);
    conn_->release(request.sub);
    reply(protocol::unsubscribed_frame(request.id, request.sub));
}

void ws_session::handle(protocol::ping_request& request) {
    if (conn_->in_use(request.id)) {
        reject(request.id, error_code::duplicate_id, "id: '" + request.id + "' is already in flight");
        return;
    }
    reply(protocol::pong_frame(request.id));
}

void ws_session::reject(std::string_view re, error_code code, std::string_view message) {
    env_.metrics.count_error(code);
    reply(protocol::error_frame(re, code, message));
}

void ws_session::reply(std::string frame) {
    (void)conn_->send(std::move(frame));
}

void ws_session::note_read_end(const boost::system::error_code& ec) {
    if (ec == websocket::error::closed) {
        note_reason(describe_close(ws_.reason()));
    } else if (ec == websocket::error::message_too_big) {
        note_reason("frame over " + std::to_string(env_.limits.max_frame_bytes) + " bytes (1009)");
    } else if (ec == websocket::error::bad_frame_payload) {
        note_reason("invalid UTF-8 in a text frame (1007)");
    } else if (ec == beast::error::timeout) {
        note_reason("timed out");
    } else {
        note_reason(ec.message());
    }
}

void ws_session::note_reason(std::string reason) {
    // The first reason is the cause; what follows is usually its consequence.
    if (close_reason_.empty()) {
        close_reason_ = std::move(reason);
    }
}

void ws_session::on_overflow() {
    gateway_metrics::add(env_.metrics.slow_consumers);
    note_reason("slow consumer (4008)");
    spdlog::warn("session {}: slow consumer, outgoing queue past its bound; disconnecting", id_);
    // The writer may be stuck behind a full socket: give the disconnect a deadline.
    grace_.expires_after(env_.limits.close_grace);
    grace_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
        if (auto self = weak.lock(); self && !ec) {
            self->cut("slow consumer did not take its disconnect in time");
        }
    });
}

void ws_session::cut(std::string_view why) {
    if (beast::get_lowest_layer(ws_).socket().is_open()) {
        spdlog::debug("session {}: cutting the connection: {}", id_, why);
    }
    beast::get_lowest_layer(ws_).close();
}

void ws_session::finish() {
    grace_.cancel();
    // Any flush still pending (a peer that stopped reading) fails now instead of holding the socket.
    beast::get_lowest_layer(ws_).close();
    env_.gateway.feed().remove_all(*conn_);
    conn_->close();
    if (opened_) {
        gateway_metrics::add(env_.metrics.connections_closed);
        spdlog::info("session {} closed: {}", id_, close_reason_.empty() ? std::string{"connection ended"} : close_reason_);
    }
}

void ws_session::drain() {
    net::post(executor_, [weak = weak_from_this()] {
        if (auto self = weak.lock()) {
            self->draining_ = true;
            self->conn_->kick();
        }
    });
}

void ws_session::abort() {
    net::post(executor_, [weak = weak_from_this()] {
        if (auto self = weak.lock()) {
            self->note_reason("server stopped");
            self->cut("server stopped");
        }
    });
}

void ws_session::detach() noexcept {
    conn_->attach(nullptr);
    conn_->close();
}

void ws_session::wake() noexcept {
    (void)bell_.try_send(boost::system::error_code{});
}

void ws_session::overflowed() noexcept {
    net::post(executor_, [weak = weak_from_this()] {
        if (auto self = weak.lock()) {
            self->on_overflow();
        }
    });
}

}  // namespace gateway
