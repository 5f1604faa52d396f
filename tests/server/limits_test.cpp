// The server's bounds on what one client may send: each one refuses what is past it with a clear
// answer, counts it in /metrics, and leaves the connection (or the server) serving the rest.
#include "support.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace server_test;
using gateway::protocol::refusal;

namespace {

json submit_frame(const std::string& id, const json& data) {
    return {{"type", "submit"}, {"id", id}, {"name", "Touch"}, {"data", data}};
}

/// `depth` arrays nested in one another: [[...]].
std::string nested(std::size_t depth) {
    return std::string(depth, '[') + std::string(depth, ']');
}

/// A request head with `fields` extra header fields, the last of `field_bytes` bytes.
std::string request_head(std::string_view request_line, std::size_t fields, std::size_t field_bytes = 1) {
    std::string head{request_line};
    head += "\r\nHost: 127.0.0.1\r\n";
    for (std::size_t i = 0; i < fields; ++i) {
        head += "X-Field-" + std::to_string(i) + ": " + std::string(i + 1 == fields ? field_bytes : 1, 'v') + "\r\n";
    }
    return head;
}

bool has_line(const std::string& metrics, const std::string& line) {
    return metrics.find(line) != std::string::npos;
}

void check_serving(std::uint16_t port) {
    CHECK(http_request(port, "GET", "/health").status == 200);
}

}  // namespace

TEST_CASE("frames past the nesting depth or string length are refused, the connection lives on", "[server][limits]") {
    auto options = test_options();
    options.json = {.max_depth = 4, .max_string_bytes = 16};
    fixture f{options};
    ws_client client{f.port()};

    // The frame is depth 1, its data 2: two more levels are allowed, three are not.
    client.send(submit_frame("c1", {{"key", "k"}, {"events", 0}, {"extra", json::parse(nested(2))}}));
    CHECK(client.read()["type"] == "ack");
    CHECK(client.read()["type"] == "done");

    const std::vector<std::string> refused{
        R"({"type":"submit","id":"c2","name":"Touch","data":{"key":"k","events":0,"extra":[[[]]]}})",
        R"({"type":"submit","id":"c3","name":"Touch","data":{"key":"seventeen-bytes!!","events":0}})",
        R"({"type":"submit","id":"c4","name":"Touch","data":{"key":"k","events":0,"a-seventeen-byte-k":1}})",
        // Integers beyond 64 bits take the other parser, under the same limits.
        R"({"type":"submit","id":"c5","name":"Touch","data":{"key":"k","n":100000000000000000000000,"x":[[[]]]}})",
        R"({"type":"submit","id":"c6","name":"Touch","data":{"key":"seventeen-bytes!!","n":100000000000000000000000}})",
        nested(30'000),  // within the frame size, far over the depth
    };
    for (const auto& text : refused) {
        CAPTURE(text.substr(0, 100));
        client.send_text(text);
        const auto error = client.read();
        CHECK(error["type"] == "error");
        CHECK(error["code"] == "limit_exceeded");
        CHECK(error["retryable"] == false);
    }
    CHECK(f.server.metrics().refusals(refusal::limit_exceeded) == refused.size());

    // Within the limits, the other parser still reads what it must.
    client.send_text(
        R"({"type":"submit","id":"c7","name":"Touch","data":{"key":"k","events":0,"n":100000000000000000000000}})");
    CHECK(client.read()["type"] == "ack");
    CHECK(client.read()["type"] == "done");
}

TEST_CASE("HTTP bodies past the nesting depth or string length are refused on every route", "[server][limits]") {
    fixture f{
        test_options(), [](cascade::bus& bus) {
            return cascade_server::load_allocation_domain(
                bus, {.store = cascade_server::store_choice::memory, .db_path = {}, .notifications_path = "/dev/null"});
        }};
    const auto port = f.port();
    // The attack the limit is for: one 1 MB body nested 500,000 deep.
    const auto deep = http_request(port, "POST", "/messages", nested(500'000));
    CHECK(deep.status == 400);
    CHECK(deep.body_json()["code"] == "limit_exceeded");

    const std::string long_sku(gateway::json_limits{}.max_string_bytes + 1, 's');
    const auto long_string = http_request(port, "POST", "/messages",
                                          json{{"name", "Touch"}, {"data", {{"key", long_sku}, {"events", 0}}}}.dump());
    CHECK(long_string.status == 400);
    CHECK(long_string.body_json()["code"] == "limit_exceeded");

    // The book's routes parse their bodies under the same limits.
    const auto book =
        http_request(port, "POST", "/allocate", json{{"orderid", "o1"}, {"sku", long_sku}, {"qty", 1}}.dump());
    CHECK(book.status == 400);
    CHECK_THAT(book.body_json()["message"].get<std::string>(), Catch::Contains("longer than"));
    CHECK(http_request(port, "POST", "/add_batch", nested(40)).status == 400);
    check_serving(port);
}

TEST_CASE("an HTTP header over its size or field count is answered 431", "[server][limits]") {
    auto options = test_options();
    options.max_http_header_bytes = 1024;
    options.max_http_header_fields = 8;
    fixture f{options};

    const auto big = raw_exchange(f.port(), request_head("GET /health HTTP/1.1", 1, 2000) + "\r\n");
    CHECK(big.received.starts_with("HTTP/1.1 431"));
    CHECK(big.received.find(R"("code":"limit_exceeded")") != std::string::npos);
    CHECK(big.closed_by_server);

    const auto many = raw_exchange(f.port(), request_head("GET /health HTTP/1.1", 20) + "\r\n");
    CHECK(many.received.starts_with("HTTP/1.1 431"));
    CHECK(many.received.find("header fields") != std::string::npos);

    // Host, six fields and Connection are eight: allowed; one more is not.
    const auto nine = raw_exchange(f.port(), request_head("GET /health HTTP/1.1", 7) + "Connection: close\r\n\r\n");
    CHECK(nine.received.starts_with("HTTP/1.1 431"));
    const auto fits = raw_exchange(f.port(), request_head("GET /health HTTP/1.1", 6) + "Connection: close\r\n\r\n");
    CHECK(fits.received.starts_with("HTTP/1.1 200"));

    check_serving(f.port());
    const auto metrics = http_request(f.port(), "GET", "/metrics").body;
    CHECK(has_line(metrics, "cascade_gateway_refused_connections_total{reason=\"header_too_large\"} 3\n"));
}

TEST_CASE("an HTTP body over its size is answered 413, even before it is sent", "[server][limits]") {
    auto options = test_options();
    options.max_http_body_bytes = 1000;
    fixture f{options};

    const std::string body(5000, ' ');
    const auto sent =
        raw_exchange(f.port(), "POST /messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n\r\n" + body);
    CHECK(sent.received.starts_with("HTTP/1.1 413"));
    CHECK(sent.received.find(R"("code":"limit_exceeded")") != std::string::npos);
    // Announced only: the answer comes without waiting for a body that may never come.
    const auto announced =
        raw_exchange(f.port(), "POST /messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000000\r\n\r\n");
    CHECK(announced.received.starts_with("HTTP/1.1 413"));
    CHECK(announced.closed_by_server);

    // Chunked: a chunk's size line that never ends cannot grow the server's buffer without bound.
    const auto endless =
        raw_exchange(f.port(), "POST /messages HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n1;" +
                                   std::string(200'000, 'a'));
    CHECK(endless.received.starts_with("HTTP/1.1 413"));
    CHECK(endless.received.find("chunk header") != std::string::npos);

    CHECK(http_request(f.port(), "POST", "/messages", std::string(999, ' ')).status == 400);  // within: not JSON
    const auto metrics = http_request(f.port(), "GET", "/metrics").body;
    CHECK(has_line(metrics, "cascade_gateway_refused_connections_total{reason=\"body_too_large\"} 3\n"));
}

TEST_CASE("a connection that sends no request in time is closed", "[server][limits]") {
    auto options = test_options();
    options.http_timeout = std::chrono::milliseconds{200};
    fixture f{options};

    const auto silent = raw_exchange(f.port(), "");
    CHECK(silent.closed_by_server);
    CHECK(silent.received.empty());
    const auto partial = raw_exchange(f.port(), "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n");  // never ends
    CHECK(partial.closed_by_server);
    CHECK(partial.received.empty());

    check_serving(f.port());
    // Counted just after the socket closes: the client may see the close first.
    CHECK(eventually_true([&] {
        return has_line(http_request(f.port(), "GET", "/metrics").body,
                        "cascade_gateway_refused_connections_total{reason=\"request_timeout\"} 2\n");
    }));
}

TEST_CASE("past the most WebSocket sessions an upgrade is answered 503, and a closed one frees a place",
          "[server][limits]") {
    auto options = test_options();
    options.max_connections = 2;
    fixture f{options};
    const std::string upgrade =
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

    auto first = std::make_unique<ws_client>(f.port());
    ws_client second{f.port()};
    const auto refused = raw_exchange(f.port(), upgrade);
    CHECK(refused.received.starts_with("HTTP/1.1 503"));
    CHECK(refused.received.find(R"("code":"overloaded")") != std::string::npos);
    check_serving(f.port());  // plain HTTP is not a session

    first->close();
    first.reset();
    CHECK(eventually_true([&] { return f.server.sessions() == 1; }));
    ws_client third{f.port()};
    const auto frames = submit_and_collect(third, "c1", "Touch", {{"key", "k"}, {"events", 1}});
    CHECK(frames.back()["status"] == "ok");
    const auto metrics = http_request(f.port(), "GET", "/metrics").body;
    CHECK(has_line(metrics, "cascade_gateway_refused_connections_total{reason=\"too_many_connections\"} 1\n"));
}

TEST_CASE("past the most subscriptions of a connection the next is limit_exceeded until one ends", "[server][limits]") {
    auto options = test_options();
    options.limits.max_subscriptions = 2;
    fixture f{options};
    ws_client client{f.port()};
    CHECK(client.welcome()["limits"]["max_subscriptions"] == 2);
    for (const auto* id : {"s1", "s2"}) {
        client.send(json{{"type", "subscribe"}, {"id", id}});
        CHECK(client.read()["type"] == "subscribed");
    }
    client.send(json{{"type", "subscribe"}, {"id", "s3"}, {"names", {"Touched"}}});
    const auto refused = client.read();
    CHECK(refused["type"] == "error");
    CHECK(refused["re"] == "s3");
    CHECK(refused["code"] == "limit_exceeded");

    client.send(json{{"type", "unsubscribe"}, {"id", "u1"}, {"sub", "s1"}});
    CHECK(client.read()["type"] == "unsubscribed");
    client.send(json{{"type", "subscribe"}, {"id", "s3"}, {"names", {"Touched"}}});
    CHECK(client.read()["type"] == "subscribed");

    ws_client other{f.port()};  // a cap per connection, not per server
    other.send(json{{"type", "subscribe"}, {"id", "s1"}});
    CHECK(other.read()["type"] == "subscribed");

    // A filter's lists are bounded too: each entry is looked at per event.
    auto names = json::array();
    for (std::size_t i = 0; i <= gateway::protocol::max_filter_entries; ++i) {
        names.push_back("Name" + std::to_string(i));
    }
    other.send(json{{"type", "subscribe"}, {"id", "s2"}, {"aggregates", names}});
    const auto long_filter = other.read();
    CHECK(long_filter["code"] == "limit_exceeded");
    CHECK(long_filter["re"] == "s2");
    names.erase(names.size() - 1);
    other.send(json{{"type", "subscribe"}, {"id", "s2"}, {"aggregates", names}});
    CHECK(other.read()["type"] == "subscribed");
}

TEST_CASE("past a connection's submit rate a submit is rate_limited with a retry-after", "[server][limits]") {
    auto options = test_options();
    // One token per 100 s: only the burst of 3 goes through, however slow the machine.
    options.limits.submit_rate = 0.01;
    options.limits.submit_burst = 3;
    fixture f{options};
    ws_client client{f.port()};
    CHECK(client.welcome()["limits"]["submit_rate"] == 0.01);

    for (int i = 0; i < 3; ++i) {
        const auto frames = submit_and_collect(client, "c" + std::to_string(i), "Touch", {{"key", "k"}, {"events", 0}});
        CHECK(frames.back()["type"] == "done");
    }
    const auto limited = submit_and_collect(client, "c3", "Touch", {{"key", "k"}, {"events", 0}});
    REQUIRE(limited.size() == 1);
    CHECK(limited[0]["code"] == "rate_limited");
    CHECK(limited[0]["retryable"] == true);
    CHECK(limited[0]["retry_after_ms"].get<std::int64_t>() > 0);
    CHECK(limited[0]["retry_after_ms"].get<std::int64_t>() <= 100'000);

    // Other requests are not rate-limited, and another connection has a bucket of its own.
    client.send(json{{"type", "ping"}, {"id", "p1"}});
    CHECK(client.read()["type"] == "pong");
    ws_client other{f.port()};
    CHECK(submit_and_collect(other, "c1", "Touch", {{"key", "k"}, {"events", 0}}).back()["type"] == "done");
    CHECK(f.server.metrics().refusals(refusal::rate_limited) == 1);
}
