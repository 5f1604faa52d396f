#pragma once
// Accepts connections on the server's port and deals them out round robin to the I/O contexts,
// each as an http_session, over TLS when the server has a certificate. Internal: include only
// from server/src.

#include "gateway/io_pool.hpp"
#include "server_state.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <memory>

namespace gateway {

class listener : public std::enable_shared_from_this<listener> {
public:
    listener(io_pool& pool, std::shared_ptr<server_state> state);

    /// Binds and listens (std::system_error when it cannot), then accepts until closed. The accept
    /// loop and close() keep the listener alive until they are done.
    void start();
    /// Thread-safe. Stops accepting.
    void close();

    [[nodiscard]] const boost::asio::ip::tcp::endpoint& bound() const noexcept { return bound_; }

private:
    [[nodiscard]] boost::asio::awaitable<void> accept_loop();
    /// Runs an http_session over `stream` (plain or TLS) on the stream's context.
    template <class Stream>
    void serve(Stream stream, std::uint64_t serial);

    io_pool& pool_;
    std::shared_ptr<server_state> state_;
    boost::asio::ip::tcp::acceptor acceptor_;  ///< on the pool's first context
    boost::asio::ip::tcp::endpoint bound_;
};

}  // namespace gateway
