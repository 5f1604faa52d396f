#pragma once
// The WebSocket connection under a session, over plain TCP or over TLS: the session speaks the
// protocol, its transport moves the frames. One virtual call per message read, per batch of
// frames written and per close, so the session is one class whatever the stream.
// Internal: include only from server/src.

#include "gateway/coalescing_stream.hpp"
#include "gateway/options.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace gateway {

class ws_transport {
public:
    using upgrade_request = boost::beast::http::request<boost::beast::http::string_body>;
    struct io_result {
        boost::system::error_code ec;
        std::size_t bytes = 0;
    };

    virtual ~ws_transport() = default;

    [[nodiscard]] virtual boost::asio::any_io_executor get_executor() = 0;
    /// The peer's address and port, for the logs.
    [[nodiscard]] virtual std::string remote() const = 0;
    /// Answers the upgrade.
    [[nodiscard]] virtual boost::asio::awaitable<boost::system::error_code> accept(upgrade_request upgrade) = 0;
    /// Reads one message into `buffer`.
    [[nodiscard]] virtual boost::asio::awaitable<io_result> read(boost::beast::flat_buffer& buffer) = 0;
    /// Whether the message last read was text.
    [[nodiscard]] virtual bool got_text() const = 0;
    /// Writes `frames` in one corked run: many small frames share a send().
    [[nodiscard]] virtual boost::asio::awaitable<io_result> write(const std::vector<std::string>& frames) = 0;
    /// The close handshake, with `why`.
    [[nodiscard]] virtual boost::asio::awaitable<boost::system::error_code> close(
        boost::beast::websocket::close_reason why) = 0;
    /// What the peer said when it closed.
    [[nodiscard]] virtual boost::beast::websocket::close_reason peer_reason() const = 0;
    [[nodiscard]] virtual bool is_open() const = 0;
    /// Closes the socket now: whatever is pending on it fails.
    virtual void cut() = 0;

protected:
    ws_transport() = default;
    ws_transport(const ws_transport&) = default;
    ws_transport& operator=(const ws_transport&) = default;
};

/// The transport over `NextLayer` (beast::tcp_stream, or an ssl_stream over one), through the
/// coalescing layer. Compression is compiled out (permessage-deflate off).
template <class NextLayer>
class ws_transport_over final : public ws_transport {
public:
    ws_transport_over(NextLayer stream, const session_limits& limits) : ws_{std::move(stream)} {
        namespace websocket = boost::beast::websocket;
        ws_.set_option(websocket::stream_base::timeout::suggested(boost::beast::role_type::server));
        ws_.set_option(websocket::stream_base::decorator(
            [](websocket::response_type& res) { res.set(boost::beast::http::field::server, "cascade-server"); }));
        ws_.read_message_max(limits.max_frame_bytes);
        ws_.auto_fragment(false);
        ws_.text(true);
        ws_.next_layer().write_limit(limits.write_coalesce_bytes);
        if (limits.socket_send_buffer != 0) {
            boost::system::error_code ignored;
            socket().set_option(boost::asio::socket_base::send_buffer_size{static_cast<int>(limits.socket_send_buffer)},
                                ignored);
        }
    }

    boost::asio::any_io_executor get_executor() override { return ws_.get_executor(); }

    [[nodiscard]] std::string remote() const override {
        boost::system::error_code ec;
        const auto peer = socket().remote_endpoint(ec);
        return ec ? std::string{"?"} : peer.address().to_string() + ":" + std::to_string(peer.port());
    }

    boost::asio::awaitable<boost::system::error_code> accept(upgrade_request upgrade) override {
        auto [ec] = co_await ws_.async_accept(upgrade, with_error);
        co_return ec;
    }

    boost::asio::awaitable<io_result> read(boost::beast::flat_buffer& buffer) override {
        auto [ec, n] = co_await ws_.async_read(buffer, with_error);
        co_return io_result{ec, n};
    }

    [[nodiscard]] bool got_text() const override { return ws_.got_text(); }

    boost::asio::awaitable<io_result> write(const std::vector<std::string>& frames) override {
        io_result result;
        ws_.next_layer().cork();
        for (const auto& frame : frames) {
            auto [ec, n] = co_await ws_.async_write(boost::asio::buffer(frame), with_error);
            if (ec) {
                result.ec = ec;
                break;
            }
            result.bytes += n;
        }
        ws_.next_layer().uncork();
        co_return result;
    }

    boost::asio::awaitable<boost::system::error_code> close(boost::beast::websocket::close_reason why) override {
        auto [ec] = co_await ws_.async_close(why, with_error);
        co_return ec;
    }

    [[nodiscard]] boost::beast::websocket::close_reason peer_reason() const override { return ws_.reason(); }
    [[nodiscard]] bool is_open() const override { return socket().is_open(); }
    void cut() override { boost::beast::get_lowest_layer(ws_).close(); }

private:
    static constexpr auto with_error = boost::asio::as_tuple(boost::asio::deferred);

    [[nodiscard]] auto& socket() { return boost::beast::get_lowest_layer(ws_).socket(); }
    [[nodiscard]] const auto& socket() const { return boost::beast::get_lowest_layer(ws_).socket(); }

    boost::beast::websocket::stream<coalescing_stream<NextLayer>, false> ws_;
};

}  // namespace gateway
