#include "transport_baseline.hpp"

#include "gateway/coalescing_stream.hpp"
#include "gateway/io_pool.hpp"
#include "thread_cpu.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace cascade::bench {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

namespace {

constexpr auto with_error = net::as_tuple(net::deferred);

/// The value of the frame's "id" string. The load client writes ids as plain digits, so a scan
/// is enough here; this server only ever talks to that client.
std::string_view request_id(std::string_view frame) {
    constexpr std::string_view key = R"("id":")";
    const auto at = frame.find(key);
    if (at == std::string_view::npos) {
        return {};
    }
    const auto start = at + key.size();
    const auto end = frame.find('"', start);
    return end == std::string_view::npos ? std::string_view{} : frame.substr(start, end - start);
}

/// The three frames of one submit, shaped and sized like cascade-server's for AllocationRequired.
struct canned_reply {
    std::string ack;
    std::string event;
    std::string done;

    void fill(std::string_view re, std::uint64_t serial) {
        const std::string id{re};
        const auto message = std::to_string(serial);
        ack = R"({"type":"ack","re":")" + id + R"(","message_id":")" + message + R"("})";
        event = R"({"type":"event","re":")" + id + R"(","n":1,"event":{"id":")" + message +
                R"(1","name":"Allocated","aggregate":"SKU-1234567890-1234","causation_id":")" + message +
                R"(","correlation_id":")" + message +
                R"(","depth":1,"timestamp_ms":1795840877496,"data":{"orderid":"o-1234567890-12-)" + id +
                R"(","sku":"SKU-1234567890-1234","qty":1,"batchref":"batch-SKU-1234567890-1234"}}})";
        done = R"({"type":"done","re":")" + id +
               R"(","status":"ok","result":"batch-SKU-1234567890-1234","events":1,"errors":[]})";
    }
};

using stream_type = websocket::stream<gateway::coalescing_stream<beast::tcp_stream>, false>;

/// Accepts the upgrade and answers submits until the client goes.
net::awaitable<void> answer(stream_type& ws) {
    ws.text(true);
    // Every answer is ready before the next read, so the answers to all the frames of one
    // receive leave in one send(): the fewest system calls this transport can make.
    ws.next_layer().flush_when_reading();
    if (auto [ec] = co_await ws.async_accept(with_error); ec) {
        co_return;
    }
    const std::string welcome = R"({"type":"welcome","protocol":1,"session":"baseline","limits":{}})";
    if (auto [ec, n] = co_await ws.async_write(net::buffer(welcome), with_error); ec) {
        co_return;
    }
    beast::flat_buffer buffer;
    canned_reply reply;
    std::uint64_t serial = 0;
    for (;;) {
        if (auto [ec, n] = co_await ws.async_read(buffer, with_error); ec) {
            co_return;
        }
        reply.fill(request_id({static_cast<const char*>(buffer.cdata().data()), buffer.size()}), ++serial);
        buffer.consume(buffer.size());
        for (const auto* frame : {&reply.ack, &reply.event, &reply.done}) {
            if (auto [ec, n] = co_await ws.async_write(net::buffer(*frame), with_error); ec) {
                co_return;
            }
        }
    }
}

net::awaitable<void> serve(tcp::socket socket) {
    socket.set_option(tcp::no_delay{true});
    stream_type ws{beast::tcp_stream{std::move(socket)}};
    co_await answer(ws);
    // A flush may still be pending on a peer that stopped reading: closing fails it now.
    beast::get_lowest_layer(ws).close();
}

net::awaitable<void> accept_loop(tcp::acceptor& acceptor, gateway::io_pool& pool) {
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(pool.next(), with_error);
        if (ec) {
            co_return;
        }
        net::co_spawn(socket.get_executor(), serve(std::move(socket)), net::detached);
    }
}

}  // namespace

struct transport_baseline::impl {
    // The same threading as cascade-server: a context per I/O thread, connections round robin.
    explicit impl(std::size_t threads)
        : pool{threads}, acceptor{pool.first(), {net::ip::make_address("127.0.0.1"), 0}} {
        record_threads(pool, clocks);  // before the accept loop uses the round robin
        net::co_spawn(acceptor.get_executor(), accept_loop(acceptor, pool), net::detached);
        pool.start();
        (void)clocks.wait_for(pool.size(), std::chrono::seconds{10});
    }

    ~impl() { pool.stop(); }

    impl(const impl&) = delete;
    impl& operator=(const impl&) = delete;

    thread_cpu_clocks clocks;  // first: outlives the threads that record themselves into it
    gateway::io_pool pool;
    tcp::acceptor acceptor;
};

transport_baseline::transport_baseline(std::size_t threads) : impl_{std::make_unique<impl>(threads)} {}

transport_baseline::~transport_baseline() = default;

const thread_cpu_clocks& transport_baseline::threads() const noexcept {
    return impl_->clocks;
}

std::uint16_t transport_baseline::port() const noexcept {
    return impl_->acceptor.local_endpoint().port();
}

}  // namespace cascade::bench
