// The coalescing layer on a real loopback connection: what it holds back, and when it lets go.
#include "gateway/coalescing_stream.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <optional>
#include <string>

namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using stream_type = gateway::coalescing_stream<boost::beast::tcp_stream>;

/// An upper bound for a test, so that a byte held back fails it instead of hanging it.
constexpr std::chrono::seconds generous{60};

/// A coalescing stream connected to a plain socket on the same io_context.
struct loopback_pair {
    net::io_context ioc;
    tcp::socket peer{ioc};
    std::optional<stream_type> stream;

    loopback_pair() {
        tcp::acceptor acceptor{ioc, {net::ip::make_address("127.0.0.1"), 0}};
        tcp::socket client{ioc};
        client.connect(acceptor.local_endpoint());
        peer = acceptor.accept();
        stream.emplace(boost::beast::tcp_stream{std::move(client)});
    }

    /// Runs `test` to completion on the io_context and rethrows what it threw.
    template <class Awaitable>
    void run(Awaitable test) {
        auto done = net::co_spawn(ioc, std::move(test), net::use_future);
        ioc.run_for(generous);
        REQUIRE(done.wait_for(std::chrono::seconds{0}) == std::future_status::ready);
        done.get();
    }

    /// Reads exactly `n` bytes at the peer.
    net::awaitable<std::string> peer_reads(std::size_t n) {
        std::string received(n, '\0');
        co_await net::async_read(peer, net::buffer(received), net::use_awaitable);
        co_return received;
    }
};

}  // namespace

TEST_CASE("coalescing stream: writes reach the peer, corked ones after uncork", "[coalescing]") {
    loopback_pair pair;
    pair.run([&]() -> net::awaitable<void> {
        auto& s = *pair.stream;
        co_await net::async_write(s, net::buffer(std::string_view{"one"}), net::use_awaitable);
        const auto first = co_await pair.peer_reads(3);
        CHECK(first == "one");

        s.cork();
        co_await net::async_write(s, net::buffer(std::string_view{"two"}), net::use_awaitable);
        co_await net::async_write(s, net::buffer(std::string_view{"three"}), net::use_awaitable);
        s.uncork();
        const auto batch = co_await pair.peer_reads(8);
        CHECK(batch == "twothree");
    }());
}

TEST_CASE("coalescing stream: with flush_when_reading, a read sends what was written", "[coalescing]") {
    loopback_pair pair;
    pair.run([&]() -> net::awaitable<void> {
        auto& s = *pair.stream;
        s.flush_when_reading();
        co_await net::async_write(s, net::buffer(std::string_view{"ask"}), net::use_awaitable);
        co_await net::async_write(s, net::buffer(std::string_view{"more"}), net::use_awaitable);
        // The peer answers only once it has the question, so this read completes only if
        // starting it sent the buffered bytes.
        net::co_spawn(
            pair.ioc,
            [&]() -> net::awaitable<void> {
                const auto question = co_await pair.peer_reads(7);
                CHECK(question == "askmore");
                co_await net::async_write(pair.peer, net::buffer(std::string_view{"!"}), net::use_awaitable);
            },
            net::detached);
        std::string answer(1, '\0');
        co_await net::async_read(s, net::buffer(answer), net::use_awaitable);
        CHECK(answer == "!");
    }());
}

TEST_CASE("coalescing stream: async_flush sends what a waiting-for-read stream holds", "[coalescing]") {
    loopback_pair pair;
    pair.run([&]() -> net::awaitable<void> {
        auto& s = *pair.stream;
        s.flush_when_reading();
        co_await net::async_write(s, net::buffer(std::string_view{"bye"}), net::use_awaitable);
        co_await s.async_flush(net::use_awaitable);
        const auto last = co_await pair.peer_reads(3);
        CHECK(last == "bye");
    }());
}
