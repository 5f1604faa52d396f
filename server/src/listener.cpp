#include "listener.hpp"

#include "http_session.hpp"
#include "tls.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

namespace gateway {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

namespace {

constexpr auto with_error = net::as_tuple(net::deferred);

void log_failure(std::string_view what, const std::exception_ptr& failure) {
    if (!failure) {
        return;
    }
    try {
        std::rethrow_exception(failure);
    } catch (const std::exception& e) {
        spdlog::error("{}: {}", what, e.what());
    } catch (...) {
        spdlog::error("{}: unknown exception", what);
    }
}

}  // namespace

listener::listener(io_pool& pool, std::shared_ptr<server_state> state)
    : pool_{pool}, state_{std::move(state)}, acceptor_{pool.first()} {}

void listener::start() {
    const tcp::endpoint endpoint{net::ip::make_address(state_->options.address), state_->options.port};
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address{true});
    acceptor_.bind(endpoint);
    acceptor_.listen(net::socket_base::max_listen_connections);
    bound_ = acceptor_.local_endpoint();
    net::co_spawn(
        acceptor_.get_executor(), [self = shared_from_this()] { return self->accept_loop(); },
        [](std::exception_ptr e) { log_failure("accept loop", e); });
}

void listener::close() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
        boost::system::error_code ignored;
        self->acceptor_.close(ignored);
    });
}

net::awaitable<void> listener::accept_loop() {
    for (;;) {
        auto [ec, socket] = co_await acceptor_.async_accept(pool_.next(), with_error);
        if (ec) {
            if (ec == net::error::operation_aborted || !acceptor_.is_open()) {
                co_return;
            }
            // Out of descriptors or similar: say so and let the condition pass before retrying.
            spdlog::error("accept failed: {}", ec.message());
            net::steady_timer pause{acceptor_.get_executor(), std::chrono::milliseconds{100}};
            (void)co_await pause.async_wait(with_error);
            continue;
        }
        boost::system::error_code ignored;
        socket.set_option(tcp::no_delay{true}, ignored);
        const auto serial = state_->next_serial.fetch_add(1, std::memory_order_relaxed);
        if (state_->tls) {
            serve(tls_stream{std::move(socket), *state_->tls}, serial);
        } else {
            serve(beast::tcp_stream{std::move(socket)}, serial);
        }
    }
}

template <class Stream>
void listener::serve(Stream stream, std::uint64_t serial) {
    auto ex = stream.get_executor();
    auto session = std::make_shared<http_session<Stream>>(std::move(stream), serial, state_);
    net::co_spawn(
        ex, [session] { return session->run(); },
        [serial](std::exception_ptr e) { log_failure(fmt::format("connection {}", serial), e); });
}

}  // namespace gateway
