#pragma once
// The definitions of http_session<Stream>, for the two files that instantiate it.
// Internal: include only from http_session.cpp and http_session_tls.cpp.

#include "http_session.hpp"
#include "request_auth.hpp"
#include "websocket_session.hpp"
#include "ws_transport.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <iterator>
#include <memory>
#include <type_traits>

namespace gateway {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using protocol::refusal;

namespace http_session_detail {

inline constexpr auto with_error = net::as_tuple(net::deferred);
/// For the stream's own operations: Beast's SSL stream (1.81) does not take `deferred`.
inline constexpr auto awaitable_with_error = net::as_tuple(net::use_awaitable);

/// Runs `f` when the scope ends, however it ends.
template <class F>
class scope_exit {
public:
    explicit scope_exit(F f) noexcept : f_{std::move(f)} {}
    ~scope_exit() { f_(); }
    scope_exit(const scope_exit&) = delete;
    scope_exit& operator=(const scope_exit&) = delete;

private:
    F f_;
};

/// The wire form of `reply`, as this server sends every answer.
inline http::response<http::string_body> response_of(http_reply reply, unsigned version, bool keep_alive) {
    http::response<http::string_body> response{static_cast<http::status>(reply.status), version};
    response.set(http::field::server, "cascade-server");
    response.set(http::field::content_type, reply.content_type);
    for (const auto& [name, value] : reply.fields) {
        response.set(name, value);
    }
    response.keep_alive(keep_alive);
    response.body() = std::move(reply.body);
    response.prepare_payload();
    return response;
}

/// The answer to a refused upgrade or request; a 401 says which scheme it takes (RFC 6750).
inline http_reply refusal_of(const auth_failure& failure) {
    auto reply = error_reply(failure.status, failure.code, failure.message);
    if (failure.status == 401) {
        reply.fields.emplace_back("WWW-Authenticate", R"(Bearer realm="cascade")");
    }
    return reply;
}

/// What the read buffer may hold beyond a whole header: a chunk's size line and extensions, a
/// trailer, the start of the next request.
inline constexpr std::size_t unparsed_slack = 64 * 1024;

/// Whether the stream is TLS (anything but the plain TCP stream).
template <class Stream>
inline constexpr bool is_tls = !std::is_same_v<Stream, boost::beast::tcp_stream>;

}  // namespace http_session_detail

using http_session_detail::awaitable_with_error;
using http_session_detail::refusal_of;
using http_session_detail::response_of;
using http_session_detail::scope_exit;
using http_session_detail::unparsed_slack;
using http_session_detail::with_error;

template <class Stream>
http_session<Stream>::http_session(Stream stream, std::uint64_t serial, std::shared_ptr<server_state> state)
    : stream_{std::move(stream)},
      executor_{stream_.get_executor()},
      // Bounded: what the parser has not consumed yet (a header, a chunk's size line, a trailer)
      // stays in the buffer, and a chunked request could otherwise grow it without end.
      buffer_{state->options.max_http_header_bytes + unparsed_slack},
      serial_{serial},
      state_{std::move(state)} {}

template <class Stream>
net::awaitable<void> http_session<Stream>::run() {
    if (!state_->connections.add(serial_, this->shared_from_this(), connection_registry::kind::http)) {
        co_return;  // accepted just as the server stopped
    }
    const scope_exit unregister{[this] { state_->connections.remove(serial_); }};
    const auto& options = state_->options;
    if constexpr (http_session_detail::is_tls<Stream>) {
        lowest().expires_after(options.http_timeout);
        auto [ec] = co_await stream_.async_handshake(Stream::server, awaitable_with_error);
        if (ec) {
            // A plain client on the TLS port, an old protocol, a bad certificate on its side.
            gateway_metrics::add(state_->metrics.tls_handshake_failures);
            spdlog::debug("connection {}: TLS handshake failed: {}", serial_, ec.message());
            co_return;
        }
    }
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(options.max_http_body_bytes);
        parser.header_limit(static_cast<std::uint32_t>(options.max_http_header_bytes));
        lowest().expires_after(options.http_timeout);
        auto [ec, n] = co_await http::async_read(stream_, buffer_, parser, with_error);
        if (ec) {
            if (!co_await refuse_unread(ec) && ec != http::error::end_of_stream &&
                ec != net::error::operation_aborted) {
                spdlog::debug("connection {}: {}", serial_, ec.message());
            }
            co_return;
        }
        auto request = parser.release();
        if (static_cast<std::size_t>(std::distance(request.begin(), request.end())) > options.max_http_header_fields) {
            gateway_metrics::add(state_->metrics.oversized_headers);
            // Named, not a temporary: GCC 12 may destroy temporaries of a co_await twice.
            const auto why = fmt::format("more than {} header fields", options.max_http_header_fields);
            co_await refuse(431, refusal::limit_exceeded, why, request.version());
            co_return;
        }
        if (beast::websocket::is_upgrade(request)) {
            lowest().expires_never();  // the WebSocket stream keeps its own timeouts
            co_await upgrade(std::move(request));
            co_return;
        }
        if (!co_await answer(request) || draining_) {
            break;
        }
    }
    co_await close_sending();
}

template <class Stream>
net::awaitable<void> http_session<Stream>::close_sending() {
    if constexpr (http_session_detail::is_tls<Stream>) {
        lowest().expires_after(std::chrono::seconds{1});
        (void)co_await stream_.async_shutdown(awaitable_with_error);  // close_notify; a peer that just leaves is fine
    }
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    co_return;  // a coroutine also over plain TCP, where the branch above is discarded
}

template <class Stream>
net::awaitable<bool> http_session<Stream>::answer(const request_type& request) {
    answering_ = true;
    auto verdict = authenticate(state_->options.auth,
                                {.method = request.method_string(),
                                 .target = request.target(),
                                 .authorization = request[http::field::authorization]},
                                std::chrono::system_clock::now());
    http_reply reply;
    if (auto* failed = std::get_if<auth_failure>(&verdict)) {
        state_->metrics.count_refusal(failed->code);
        reply = refusal_of(*failed);
    } else {
        // A named argument, not a temporary: GCC 12 may destroy temporaries of a co_await twice.
        http_call call{.method = std::string{request.method_string()},
                       .target = std::string{request.target()},
                       .body = request.body(),
                       .json = state_->options.json,
                       .who = std::get<caller>(std::move(verdict))};
        // The request's timeout covers reading it and writing the answer, not the cascade between.
        lowest().expires_never();
        reply = co_await state_->router.handle(std::move(call));
        lowest().expires_after(state_->options.http_timeout);
    }
    auto response = response_of(std::move(reply), request.version(), request.keep_alive() && !state_->draining.load());
    auto [ec, n] = co_await http::async_write(stream_, response, with_error);
    answering_ = false;
    co_return !ec && response.keep_alive();
}

template <class Stream>
net::awaitable<void> http_session<Stream>::upgrade(request_type request) {
    if (path_of(request.target()) != "/ws") {
        auto response = response_of(json_reply(404, {{"code", "not_found"}, {"message", "WebSocket is served at /ws"}}),
                                    request.version(), false);
        answering_ = true;  // a drain lets this answer go out
        (void)co_await http::async_write(stream_, response, with_error);
        co_return;
    }
    auto verdict = authenticate(state_->options.auth,
                                {.method = request.method_string(),
                                 .target = request.target(),
                                 .authorization = request[http::field::authorization],
                                 .origin = request[http::field::origin],
                                 .websocket = true},
                                std::chrono::system_clock::now());
    if (auto* failed = std::get_if<auth_failure>(&verdict)) {
        state_->metrics.count_refusal(failed->code);
        auto reply = refusal_of(*failed);  // named: GCC 12 may destroy temporaries of a co_await twice
        co_await refuse(std::move(reply), request.version());
        co_return;
    }
    if (!state_->connections.reserve_session(serial_, state_->options.max_connections)) {
        gateway_metrics::add(state_->metrics.refused_upgrades);
        const auto why = fmt::format("{} WebSocket sessions are open, the most this server takes; try again later",
                                     state_->options.max_connections);
        co_await refuse(503, refusal::overloaded, why, request.version());
        co_return;
    }
    upgraded_ = true;
    auto session = std::make_shared<websocket_session>(
        std::make_unique<ws_transport_over<Stream>>(std::move(stream_), state_->options.limits),
        fmt::format("{:08x}-{}", state_->nonce, serial_), state_, std::get<caller>(std::move(verdict)));
    // Registered in the server's current phase: a session that upgrades while the server drains
    // or stops is drained or cut like the others.
    state_->connections.replace(serial_, session);
    co_await session->run(std::move(request));
}

template <class Stream>
net::awaitable<bool> http_session<Stream>::refuse_unread(const boost::system::error_code& ec) {
    if (ec == beast::error::timeout) {
        gateway_metrics::add(state_->metrics.request_timeouts);
        co_return false;  // nobody to tell: the client sent nothing, or not in time
    }
    if (ec == http::error::header_limit) {
        gateway_metrics::add(state_->metrics.oversized_headers);
        const auto why = fmt::format("the request header is over {} bytes", state_->options.max_http_header_bytes);
        co_await refuse(431, refusal::limit_exceeded, why);
        co_return true;
    }
    if (ec == http::error::body_limit) {
        gateway_metrics::add(state_->metrics.oversized_bodies);
        const auto why = fmt::format("the request body is over {} bytes", state_->options.max_http_body_bytes);
        co_await refuse(413, refusal::limit_exceeded, why);
        co_return true;
    }
    if (ec == http::error::buffer_overflow) {
        // A chunk's size line or a trailer that never ends.
        gateway_metrics::add(state_->metrics.oversized_bodies);
        const auto why = fmt::format("a chunk header or trailer is over {} bytes", unparsed_slack);
        co_await refuse(413, refusal::limit_exceeded, why);
        co_return true;
    }
    co_return false;
}

template <class Stream>
net::awaitable<void> http_session<Stream>::refuse(unsigned status, refusal code, std::string_view message,
                                                  unsigned version) {
    auto reply = error_reply(status, code, message);  // named: GCC 12 may destroy temporaries of a co_await twice
    co_await refuse(std::move(reply), version);
}

template <class Stream>
net::awaitable<void> http_session<Stream>::refuse(http_reply reply, unsigned version) {
    auto response = response_of(std::move(reply), version, false);
    answering_ = true;  // a drain lets this answer go out
    lowest().expires_after(state_->options.http_timeout);
    (void)co_await http::async_write(stream_, response, with_error);
    co_await discard_rest();
}

template <class Stream>
net::awaitable<void> http_session<Stream>::discard_rest() {
    // Half-close, then read what the client still sends (briefly): closing with unread data would
    // reset the connection, and a reset can destroy the answer before the client reads it.
    co_await close_sending();
    lowest().expires_after(std::chrono::seconds{1});
    constexpr std::size_t chunk = 4096;
    for (std::size_t drained = 0; drained < state_->options.max_http_body_bytes;) {
        buffer_.clear();
        auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(chunk), awaitable_with_error);
        if (ec) {
            break;
        }
        drained += n;
    }
}

template <class Stream>
void http_session<Stream>::begin_drain() {
    net::post(executor_, [weak = this->weak_from_this()] {
        if (auto self = weak.lock(); self && !self->upgraded_) {
            self->draining_ = true;
            if (!self->answering_) {
                self->lowest().close();  // idle between requests: nothing to finish
            }
        }
    });
}

template <class Stream>
void http_session<Stream>::abort() {
    net::post(executor_, [weak = this->weak_from_this()] {
        if (auto self = weak.lock(); self && !self->upgraded_) {
            self->lowest().close();
        }
    });
}

}  // namespace gateway
