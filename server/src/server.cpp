#include "gateway/server.hpp"

#include "gateway/io_pool.hpp"
#include "gateway/session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <vector>

namespace gateway {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr auto with_error = net::as_tuple(net::deferred);

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

std::string_view path_of(std::string_view target) noexcept {
    return target.substr(0, target.find('?'));
}

}  // namespace

struct server::impl {
    impl(cascade::bus& bus, server_options opts, routes extra)
        : options{std::move(opts)},
          gateway{bus, feed},
          router{gateway, metrics, std::move(extra)},
          nonce{std::random_device{}()},
          pool{options.threads},
          acceptor{pool.first()} {}

    net::awaitable<void> accept_loop();
    net::awaitable<void> serve(tcp::socket socket, std::uint64_t serial);
    net::awaitable<void> upgrade(beast::tcp_stream stream, http::request<http::string_body> request,
                                 std::uint64_t serial);
    net::awaitable<bool> answer(beast::tcp_stream& stream, const http::request<http::string_body>& request);
    void close_acceptor();
    void notify_idle();

    // Everything a session or a handler refers to is declared before the pool, so that it is
    // destroyed after the coroutines that the pool's contexts still hold.
    server_options options;
    std::shared_ptr<hub> feed = std::make_shared<hub>();
    gateway_metrics metrics;
    dispatcher gateway;
    http_router router;
    mutable std::mutex mutex;
    std::condition_variable idle;
    std::map<std::uint64_t, std::weak_ptr<ws_session>> live_sessions;
    std::size_t busy_http = 0;
    std::atomic<bool> draining{false};
    std::atomic<std::uint64_t> next_serial{1};
    std::uint32_t nonce;  ///< makes session ids differ across restarts
    bool stopped = false;

    io_pool pool;
    tcp::acceptor acceptor;  ///< on the pool's first context; connections go round robin
    tcp::endpoint bound;
};

net::awaitable<void> server::impl::accept_loop() {
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(pool.next(), with_error);
        if (ec) {
            if (ec == net::error::operation_aborted || !acceptor.is_open()) {
                co_return;
            }
            // Out of descriptors or similar: say so and let the condition pass before retrying.
            spdlog::error("accept failed: {}", ec.message());
            net::steady_timer pause{acceptor.get_executor(), std::chrono::milliseconds{100}};
            (void)co_await pause.async_wait(with_error);
            continue;
        }
        beast::error_code ignored;
        socket.set_option(tcp::no_delay{true}, ignored);
        const auto serial = next_serial.fetch_add(1, std::memory_order_relaxed);
        auto ex = socket.get_executor();
        net::co_spawn(ex, serve(std::move(socket), serial),
                      [serial](std::exception_ptr e) { log_failure(fmt::format("connection {}", serial), e); });
    }
}

net::awaitable<void> server::impl::serve(tcp::socket socket, std::uint64_t serial) {
    beast::tcp_stream stream{std::move(socket)};
    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(options.max_http_body_bytes);
        stream.expires_after(options.http_timeout);
        auto [ec, n] = co_await http::async_read(stream, buffer, parser, with_error);
        if (ec) {
            if (ec != http::error::end_of_stream && ec != net::error::operation_aborted) {
                spdlog::debug("connection {}: {}", serial, ec.message());
            }
            break;
        }
        auto request = parser.release();
        if (beast::websocket::is_upgrade(request)) {
            stream.expires_never();  // the WebSocket stream keeps its own timeouts
            co_await upgrade(std::move(stream), std::move(request), serial);
            co_return;
        }
        if (!co_await answer(stream, request)) {
            break;
        }
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

net::awaitable<bool> server::impl::answer(beast::tcp_stream& stream, const http::request<http::string_body>& request) {
    {
        const std::scoped_lock lock{mutex};
        ++busy_http;
    }
    const scope_exit done{[this] {
        const std::scoped_lock lock{mutex};
        --busy_http;
        notify_idle();
    }};
    // A named argument, not a temporary: GCC 12 may destroy temporaries of a co_await twice.
    http_call call{.method = std::string{request.method_string()},
                   .target = std::string{request.target()},
                   .body = request.body()};
    auto reply = co_await router.handle(std::move(call));
    http::response<http::string_body> response{static_cast<http::status>(reply.status), request.version()};
    response.set(http::field::server, "cascade-server");
    response.set(http::field::content_type, reply.content_type);
    response.keep_alive(request.keep_alive() && !draining.load());
    response.body() = std::move(reply.body);
    response.prepare_payload();
    auto [ec, n] = co_await http::async_write(stream, response, with_error);
    co_return !ec && response.keep_alive();
}

net::awaitable<void> server::impl::upgrade(beast::tcp_stream stream, http::request<http::string_body> request,
                                           std::uint64_t serial) {
    if (path_of(request.target()) != "/ws") {
        http::response<http::string_body> response{http::status::not_found, request.version()};
        response.set(http::field::content_type, "application/json");
        response.body() = R"({"code":"not_found","message":"WebSocket is served at /ws"})";
        response.keep_alive(false);
        response.prepare_payload();
        (void)co_await http::async_write(stream, response, with_error);
        co_return;
    }
    auto session = std::make_shared<ws_session>(std::move(stream), fmt::format("{:08x}-{}", nonce, serial),
                                                session_env{.gateway = gateway, .metrics = metrics, .limits = options.limits});
    {
        const std::scoped_lock lock{mutex};
        live_sessions.emplace(serial, session);
    }
    const scope_exit unregister{[this, serial] {
        const std::scoped_lock lock{mutex};
        live_sessions.erase(serial);
        notify_idle();
    }};
    if (draining.load()) {
        session->drain();  // registered after begin_drain looked: drain it ourselves
    }
    co_await session->run(std::move(request));
}

void server::impl::close_acceptor() {
    net::post(acceptor.get_executor(), [this] {
        beast::error_code ignored;
        acceptor.close(ignored);
    });
}

void server::impl::notify_idle() {
    if (live_sessions.empty() && busy_http == 0) {
        idle.notify_all();
    }
}

server::server(cascade::bus& bus, server_options options, routes extra)
    : impl_{std::make_unique<impl>(bus, std::move(options), std::move(extra))} {}

server::~server() {
    stop();
}

void server::start() {
    auto& s = *impl_;
    const tcp::endpoint endpoint{net::ip::make_address(s.options.address), s.options.port};
    s.acceptor.open(endpoint.protocol());
    s.acceptor.set_option(tcp::acceptor::reuse_address{true});
    s.acceptor.bind(endpoint);
    s.acceptor.listen(net::socket_base::max_listen_connections);
    s.bound = s.acceptor.local_endpoint();
    net::co_spawn(s.acceptor.get_executor(), s.accept_loop(),
                  [](std::exception_ptr e) { log_failure("accept loop", e); });
    s.pool.start();
    const auto threads = s.pool.size();
    spdlog::info("listening on {} (HTTP and WebSocket at ws://{}/ws, {} I/O thread{})", listen_address(),
                 listen_address(), threads, threads == 1 ? "" : "s");
}

std::uint16_t server::port() const noexcept {
    return impl_->bound.port();
}

std::string server::listen_address() const {
    return impl_->bound.address().to_string() + ":" + std::to_string(impl_->bound.port());
}

void server::begin_drain() {
    auto& s = *impl_;
    if (s.draining.exchange(true)) {
        return;
    }
    s.gateway.stop_accepting();
    s.close_acceptor();
    std::vector<std::shared_ptr<ws_session>> sessions;
    {
        const std::scoped_lock lock{s.mutex};
        for (const auto& [serial, weak] : s.live_sessions) {
            if (auto session = weak.lock()) {
                sessions.push_back(std::move(session));
            }
        }
    }
    spdlog::info("draining: {} session{} to finish", sessions.size(), sessions.size() == 1 ? "" : "s");
    for (const auto& session : sessions) {
        session->drain();
    }
}

bool server::wait_drained(std::chrono::nanoseconds timeout) {
    auto& s = *impl_;
    std::unique_lock lock{s.mutex};
    return s.idle.wait_for(lock, timeout, [&] { return s.live_sessions.empty() && s.busy_http == 0; });
}

void server::stop() {
    auto& s = *impl_;
    if (s.stopped) {
        return;
    }
    s.stopped = true;
    s.draining = true;
    s.gateway.stop_accepting();
    s.close_acceptor();
    std::vector<std::shared_ptr<ws_session>> sessions;
    {
        const std::scoped_lock lock{s.mutex};
        if (s.busy_http != 0) {
            spdlog::debug("stopping with {} HTTP request(s) unanswered", s.busy_http);
        }
        for (const auto& [serial, weak] : s.live_sessions) {
            if (auto session = weak.lock()) {
                sessions.push_back(std::move(session));
            }
        }
    }
    for (const auto& session : sessions) {
        session->abort();
    }
    s.pool.stop();
    // The pool's contexts are about to destroy the sessions' coroutines; from now on the bus's threads
    // must find their connections closed rather than ring a bell on a dead io_context.
    for (const auto& session : sessions) {
        session->detach();
    }
    spdlog::info("server stopped");
}

gateway_metrics& server::metrics() noexcept {
    return impl_->metrics;
}

dispatcher& server::gateway() noexcept {
    return impl_->gateway;
}

std::size_t server::sessions() const {
    const std::scoped_lock lock{impl_->mutex};
    return impl_->live_sessions.size();
}

}  // namespace gateway
