#pragma once
// One client connection from its first byte: the TLS handshake when the port speaks TLS, then HTTP
// requests answered one after another (keep-alive), until the client asks to upgrade /ws, when the
// connection becomes a websocket_session. A template on the byte stream (beast::tcp_stream, or
// tls_stream), instantiated for both in http_session.cpp and http_session_tls.cpp.
// Internal: include only from server/src.

#include "connection.hpp"
#include "server_state.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstdint>
#include <memory>
#include <string_view>

namespace gateway {

template <class Stream>
class http_session final : public std::enable_shared_from_this<http_session<Stream>>, public connection {
public:
    http_session(Stream stream, std::uint64_t serial, std::shared_ptr<server_state> state);

    /// Serves the connection until it ends, as HTTP or as the WebSocket session it becomes.
    [[nodiscard]] boost::asio::awaitable<void> run();

    /// Closes the connection once the request being answered (if any) has its response.
    void begin_drain() override;
    void abort() override;
    void detach() noexcept override {}

private:
    using request_type = boost::beast::http::request<boost::beast::http::string_body>;

    /// Answers one request; false when the connection is to close after it.
    [[nodiscard]] boost::asio::awaitable<bool> answer(const request_type& request);
    [[nodiscard]] boost::asio::awaitable<void> upgrade(request_type request);
    /// Answers `status` with {"code","message"} and ends the connection: a request over a limit,
    /// whose rest (if any) is not read.
    [[nodiscard]] boost::asio::awaitable<void> refuse(unsigned status, protocol::refusal code, std::string_view message,
                                                      unsigned version = 11);
    [[nodiscard]] boost::asio::awaitable<void> refuse(http_reply reply, unsigned version);
    /// After a refusal: half-closes and reads what the client still sends, for a second at most.
    [[nodiscard]] boost::asio::awaitable<void> discard_rest();
    /// The answer to a request that could not be read; false when none is due (the client left).
    [[nodiscard]] boost::asio::awaitable<bool> refuse_unread(const boost::system::error_code& ec);

    /// The TCP stream under any TLS: timeouts, the socket.
    [[nodiscard]] boost::beast::tcp_stream& lowest() noexcept { return boost::beast::get_lowest_layer(stream_); }
    /// Ends the connection's sending side (after TLS's close_notify, under TLS).
    [[nodiscard]] boost::asio::awaitable<void> close_sending();

    Stream stream_;
    boost::asio::any_io_executor executor_;  ///< where begin_drain() and abort() post
    boost::beast::flat_buffer buffer_;
    std::uint64_t serial_;
    std::shared_ptr<server_state> state_;
    bool answering_ = false;  ///< between a request and its response; only the connection's thread touches it
    bool draining_ = false;
    bool upgraded_ = false;  ///< the stream belongs to the websocket_session now
};

extern template class http_session<boost::beast::tcp_stream>;
// http_session<tls_stream> is instantiated in http_session_tls.cpp; tls.hpp declares tls_stream.

}  // namespace gateway
