// The coalescing layer on a real loopback connection: what it holds back, and when it lets go.
// Each test runs the io_context by hand (poll) and looks at the peer's socket in between, so
// "held back" is checked directly: the peer has nothing to read yet.
#include "gateway/coalescing_stream.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using stream_type = gateway::coalescing_stream<boost::beast::tcp_stream>;
using error_code = boost::system::error_code;

/// A coalescing stream connected to a plain, blocking socket on the same io_context.
struct loopback_pair {
    net::io_context ioc;
    // Keeps poll() from stopping the context once it runs out of handlers.
    net::executor_work_guard<net::io_context::executor_type> work{ioc.get_executor()};
    tcp::socket peer{ioc};
    std::optional<stream_type> stream;

    loopback_pair() {
        tcp::acceptor acceptor{ioc, {net::ip::make_address("127.0.0.1"), 0}};
        tcp::socket client{ioc};
        client.connect(acceptor.local_endpoint());
        peer = acceptor.accept();
        stream.emplace(boost::beast::tcp_stream{std::move(client)});
    }

    /// Starts a write of `text`; `done` counts the writes that completed.
    void write(std::string_view text, int& done) {
        net::async_write(*stream, net::buffer(text), [&done](error_code ec, std::size_t) {
            CHECK_FALSE(ec);
            ++done;
        });
    }

    /// Bytes the peer could read now, without waiting.
    [[nodiscard]] std::size_t waiting_at_peer() { return peer.available(); }

    /// Reads exactly `n` bytes at the peer, waiting for them.
    [[nodiscard]] std::string peer_reads(std::size_t n) {
        std::string received(n, '\0');
        net::read(peer, net::buffer(received));
        return received;
    }
};

}  // namespace

TEST_CASE("coalescing stream: a write leaves after one turn of the event loop", "[coalescing]") {
    loopback_pair pair;
    int done = 0;
    pair.write("one", done);
    CHECK(pair.waiting_at_peer() == 0);  // nothing is sent inside the initiating call
    pair.ioc.poll();
    CHECK(pair.peer_reads(3) == "one");
    CHECK(done == 1);
}

TEST_CASE("coalescing stream: a corked batch leaves together at uncork", "[coalescing]") {
    loopback_pair pair;
    int done = 0;
    // Written just before the batch, its posted flush runs while the batch is corked: it waits
    // for the batch rather than leaving alone.
    pair.write("a", done);
    pair.stream->cork();
    pair.write("b", done);
    pair.write("c", done);
    pair.ioc.poll();
    CHECK(done == 3);  // corked writes still complete
    CHECK(pair.waiting_at_peer() == 0);
    pair.stream->uncork();
    pair.ioc.poll();
    CHECK(pair.peer_reads(3) == "abc");
}

TEST_CASE("coalescing stream: past the write limit a corked write waits for the socket", "[coalescing]") {
    loopback_pair pair;
    int done = 0;
    pair.stream->write_limit(4);
    pair.stream->cork();
    pair.write("12345", done);
    // Over the limit: the bytes go now, cork or not, and the write completes once they left.
    CHECK(pair.peer_reads(5) == "12345");
    pair.ioc.poll();
    CHECK(done == 1);
}

TEST_CASE("coalescing stream: with flush_when_reading, writes wait for the next read", "[coalescing]") {
    loopback_pair pair;
    int done = 0;
    pair.stream->flush_when_reading();
    pair.write("ask", done);
    pair.write("more", done);
    pair.ioc.poll();
    CHECK(done == 2);
    CHECK(pair.waiting_at_peer() == 0);

    std::string answer(1, '\0');
    std::optional<error_code> read_result;
    pair.stream->async_read_some(net::buffer(answer), [&](error_code ec, std::size_t) { read_result = ec; });
    // Starting the read sent the question.
    CHECK(pair.peer_reads(7) == "askmore");
    net::write(pair.peer, net::buffer(std::string_view{"!"}));
    while (!read_result) {
        pair.ioc.run_one();
    }
    CHECK_FALSE(*read_result);
    CHECK(answer == "!");
}

TEST_CASE("coalescing stream: async_flush sends what the stream holds back", "[coalescing]") {
    loopback_pair pair;
    int done = 0;
    pair.stream->flush_when_reading();
    pair.write("bye", done);
    pair.ioc.poll();
    CHECK(pair.waiting_at_peer() == 0);
    std::optional<error_code> flushed;
    pair.stream->async_flush([&](error_code ec) { flushed = ec; });
    CHECK(pair.peer_reads(3) == "bye");
    while (!flushed) {
        pair.ioc.run_one();
    }
    CHECK_FALSE(*flushed);
}
