// The real Beast clients the gateway tests drive the server with. Every operation is bounded by
// a timeout on the TCP stream, so a test that waits for a frame that never comes fails instead
// of hanging; no test sleeps.
#include "support.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <array>
#include <map>
#include <stdexcept>

namespace server_test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

/// Runs the io_context until the operation started by `start` has completed.
template <class Start>
void run_until_done(net::io_context& ioc, Start&& start) {
    bool done = false;
    start(done);
    ioc.restart();
    while (!done && ioc.run_one() != 0) {
    }
    if (!done) {
        throw std::logic_error{"io_context ran out of work before the operation completed"};
    }
}

tcp::endpoint loopback(std::uint16_t port) {
    return {net::ip::make_address("127.0.0.1"), port};
}

}  // namespace

struct ws_client::impl {
    net::io_context ioc;
    websocket::stream<beast::tcp_stream> ws{ioc};
    beast::flat_buffer buffer;
};

ws_client::ws_client(std::uint16_t port, std::size_t receive_buffer)
    : ws_client{port, upgrade_options{.target = "/ws", .fields = {}, .receive_buffer = receive_buffer}} {}

ws_client::ws_client(std::uint16_t port, const upgrade_options& options) : impl_{std::make_unique<impl>()} {
    auto& s = *impl_;
    auto& socket = beast::get_lowest_layer(s.ws).socket();
    socket.open(tcp::v4());
    if (options.receive_buffer != 0) {
        socket.set_option(net::socket_base::receive_buffer_size{static_cast<int>(options.receive_buffer)});
    }
    s.ws.set_option(websocket::stream_base::decorator([fields = options.fields](websocket::request_type& request) {
        for (const auto& [name, value] : fields) {
            request.set(name, value);
        }
    }));
    beast::error_code ec;
    run_until_done(s.ioc, [&](bool& done) {
        beast::get_lowest_layer(s.ws).expires_after(generous);
        beast::get_lowest_layer(s.ws).async_connect(loopback(port), [&](beast::error_code e) {
            ec = e;
            done = true;
        });
    });
    if (ec) {
        throw std::runtime_error{"connect: " + ec.message()};
    }
    run_until_done(s.ioc, [&](bool& done) {
        s.ws.async_handshake("127.0.0.1", options.target, [&](beast::error_code e) {
            ec = e;
            done = true;
        });
    });
    if (ec) {
        throw std::runtime_error{"handshake: " + ec.message()};
    }
    welcome_ = read();
}

ws_client::~ws_client() = default;

void ws_client::send_text(std::string_view text) {
    auto& s = *impl_;
    beast::error_code ec;
    s.ws.text(true);
    run_until_done(s.ioc, [&](bool& done) {
        beast::get_lowest_layer(s.ws).expires_after(generous);
        s.ws.async_write(net::buffer(text), [&](beast::error_code e, std::size_t) {
            ec = e;
            done = true;
        });
    });
    if (ec) {
        throw std::runtime_error{"send: " + ec.message()};
    }
}

void ws_client::send_binary(std::string_view bytes) {
    auto& s = *impl_;
    s.ws.binary(true);
    beast::error_code ec;
    run_until_done(s.ioc, [&](bool& done) {
        beast::get_lowest_layer(s.ws).expires_after(generous);
        s.ws.async_write(net::buffer(bytes), [&](beast::error_code e, std::size_t) {
            ec = e;
            done = true;
        });
    });
    s.ws.text(true);
    if (ec) {
        throw std::runtime_error{"send: " + ec.message()};
    }
}

read_result ws_client::read_any(std::chrono::milliseconds timeout) {
    auto& s = *impl_;
    beast::error_code ec;
    run_until_done(s.ioc, [&](bool& done) {
        beast::get_lowest_layer(s.ws).expires_after(timeout);
        s.ws.async_read(s.buffer, [&](beast::error_code e, std::size_t) {
            ec = e;
            done = true;
        });
    });
    read_result result;
    if (ec == websocket::error::closed) {
        result.closed = close_info{.code = static_cast<std::uint16_t>(s.ws.reason().code),
                                   .reason = std::string{s.ws.reason().reason.data(), s.ws.reason().reason.size()}};
        return result;
    }
    if (ec) {
        result.error = ec.message();
        return result;
    }
    result.frame = json::parse(beast::buffers_to_string(s.buffer.data()));
    s.buffer.consume(s.buffer.size());
    return result;
}

json ws_client::read(std::chrono::milliseconds timeout) {
    auto result = read_any(timeout);
    if (!result.frame) {
        throw std::runtime_error{result.closed ? "closed by the server with " + std::to_string(result.closed->code)
                                               : "read failed: " + result.error};
    }
    return std::move(*result.frame);
}

close_info ws_client::read_until_closed(std::vector<json>* frames, std::chrono::milliseconds timeout) {
    for (;;) {
        auto result = read_any(timeout);
        if (result.closed) {
            return *result.closed;
        }
        if (!result.frame) {
            throw std::runtime_error{"connection ended without a close frame: " + result.error};
        }
        if (frames != nullptr) {
            frames->push_back(std::move(*result.frame));
        }
    }
}

void ws_client::close() {
    auto& s = *impl_;
    beast::error_code ec;
    run_until_done(s.ioc, [&](bool& done) {
        beast::get_lowest_layer(s.ws).expires_after(generous);
        s.ws.async_close(websocket::close_code::normal, [&](beast::error_code e) {
            ec = e;
            done = true;
        });
    });
    if (ec) {
        throw std::runtime_error{"close: " + ec.message()};
    }
}

std::vector<json> submit_and_collect(ws_client& client, const std::string& id, std::string_view name,
                                     const json& data) {
    client.send(json{{"type", "submit"}, {"id", id}, {"name", name}, {"data", data}});
    std::vector<json> frames;
    for (;;) {
        auto frame = client.read();
        const bool terminal = frame["type"] == "done" || frame["type"] == "error";
        frames.push_back(std::move(frame));
        if (terminal) {
            return frames;
        }
    }
}

// ---- many clients at once ----

namespace {

/// Checks each submit's frames: ack, then events n = 1..k, then done with events = k.
class load_checker {
public:
    load_checker(load_report& report, std::size_t client) : report_{report}, client_{client} {}

    void sent(const std::string& id, int expected_events) { pending_[id] = {.expected = expected_events}; }

    /// True when `frame` was terminal for its submit.
    bool seen(const json& frame) {
        const auto type = frame.value("type", std::string{});
        const auto re = frame.value("re", std::string{});
        const auto it = pending_.find(re);
        if (it == pending_.end()) {
            problem("frame for no submit in flight: " + frame.dump());
            return false;
        }
        auto& p = it->second;
        if (type == "ack") {
            ++report_.acks;
            if (p.acked) {
                problem("second ack for " + re);
            }
            p.acked = true;
            return false;
        }
        if (type == "event") {
            ++report_.events;
            if (!p.acked || frame.value("n", 0) != p.events + 1) {
                problem("event out of order for " + re + ": " + frame.dump());
            }
            ++p.events;
            return false;
        }
        if (type == "done") {
            ++report_.dones;
            if (!p.acked || p.events != p.expected || frame.value("events", -1) != p.expected ||
                frame.value("status", std::string{}) != "ok") {
                problem("bad done for " + re + " after " + std::to_string(p.events) + " events: " + frame.dump());
            }
            pending_.erase(it);
            return true;
        }
        if (type == "error") {
            ++report_.errors;
            problem("error for " + re + ": " + frame.dump());
            pending_.erase(it);
            return true;
        }
        problem("unexpected frame: " + frame.dump());
        return false;
    }

private:
    struct expectation {
        int expected = 0;
        int events = 0;
        bool acked = false;
    };

    void problem(std::string what) {
        if (report_.problems.size() < 10) {
            report_.problems.push_back("client " + std::to_string(client_) + ": " + std::move(what));
        }
    }

    load_report& report_;
    std::size_t client_;
    std::map<std::string, expectation> pending_;
};

net::awaitable<void> load_client(std::uint16_t port, std::size_t client, std::size_t submits, std::size_t window,
                                 load_report& report) {
    websocket::stream<beast::tcp_stream> ws{co_await net::this_coro::executor};
    beast::get_lowest_layer(ws).expires_after(generous);
    co_await beast::get_lowest_layer(ws).async_connect(loopback(port), net::use_awaitable);
    co_await ws.async_handshake("127.0.0.1", "/ws", net::use_awaitable);
    beast::flat_buffer buffer;
    co_await ws.async_read(buffer, net::use_awaitable);  // welcome
    buffer.consume(buffer.size());

    load_checker checker{report, client};
    std::size_t sent = 0;
    std::size_t finished = 0;
    auto send_next = [&]() -> net::awaitable<void> {
        const auto i = sent++;
        const int events = static_cast<int>(i % 3);
        const auto id = "c" + std::to_string(i);
        checker.sent(id, events);
        const auto frame =
            json{{"type", "submit"},
                 {"id", id},
                 {"name", "Touch"},
                 {"data", {{"key", "k" + std::to_string(client) + "-" + std::to_string(i % 8)}, {"events", events}}}}
                .dump();
        beast::get_lowest_layer(ws).expires_after(generous);
        co_await ws.async_write(net::buffer(frame), net::use_awaitable);
    };
    while (sent < std::min(window, submits)) {
        co_await send_next();
    }
    while (finished < submits) {
        beast::get_lowest_layer(ws).expires_after(generous);
        co_await ws.async_read(buffer, net::use_awaitable);
        const auto frame = json::parse(beast::buffers_to_string(buffer.data()));
        buffer.consume(buffer.size());
        if (checker.seen(frame)) {
            ++finished;
            if (sent < submits) {
                co_await send_next();
            }
        }
    }
    co_await ws.async_close(websocket::close_code::normal, net::use_awaitable);
}

}  // namespace

load_report run_load(std::uint16_t port, std::size_t clients, std::size_t submits, std::size_t window) {
    net::io_context ioc{1};
    load_report report;
    for (std::size_t c = 0; c < clients; ++c) {
        net::co_spawn(ioc, load_client(port, c, submits, window, report), [&report, c](std::exception_ptr e) {
            if (!e) {
                return;
            }
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                report.problems.push_back("client " + std::to_string(c) + " failed: " + ex.what());
            }
        });
    }
    ioc.run();
    return report;
}

// ---- HTTP ----

http_result http_request(std::uint16_t port, std::string_view method, std::string_view target, std::string_view body,
                         const header_fields& fields) {
    net::io_context ioc;
    beast::tcp_stream stream{ioc};
    http_result result;
    net::co_spawn(
        ioc,
        [&]() -> net::awaitable<void> {
            stream.expires_after(generous);
            co_await stream.async_connect(loopback(port), net::use_awaitable);
            http::request<http::string_body> request{http::string_to_verb(method), std::string{target}, 11};
            request.set(http::field::host, "127.0.0.1");
            for (const auto& [name, value] : fields) {
                request.set(name, value);
            }
            if (!body.empty()) {
                request.set(http::field::content_type, "application/json");
                request.body() = std::string{body};
            }
            request.prepare_payload();
            co_await http::async_write(stream, request, net::use_awaitable);
            beast::flat_buffer buffer;
            http::response<http::string_body> response;
            co_await http::async_read(stream, buffer, response, net::use_awaitable);
            result.status = response.result_int();
            result.content_type = std::string{response[http::field::content_type]};
            result.www_authenticate = std::string{response[http::field::www_authenticate]};
            result.body = std::move(response.body());
        },
        [](std::exception_ptr e) {
            if (e) {
                std::rethrow_exception(e);
            }
        });
    ioc.run();
    return result;
}

raw_result raw_exchange(std::uint16_t port, std::string_view bytes) {
    net::io_context ioc;
    beast::tcp_stream stream{ioc};
    raw_result result;
    net::co_spawn(
        ioc,
        [&]() -> net::awaitable<void> {
            stream.expires_after(generous);
            co_await stream.async_connect(loopback(port), net::use_awaitable);
            if (!bytes.empty()) {
                // The server may answer and close before it read everything: a failed write is
                // part of what the test looks at, not an error of the client.
                auto [ec, n] = co_await net::async_write(stream, net::buffer(bytes), net::as_tuple(net::deferred));
                result.sent = n;
            }
            std::array<char, 4096> chunk{};
            for (;;) {
                auto [ec, n] = co_await stream.async_read_some(net::buffer(chunk), net::as_tuple(net::deferred));
                result.received.append(chunk.data(), n);
                if (ec == net::error::eof) {
                    result.closed_by_server = true;
                    co_return;
                }
                if (ec) {
                    result.error = ec.message();
                    co_return;
                }
            }
        },
        [](std::exception_ptr e) {
            if (e) {
                std::rethrow_exception(e);
            }
        });
    ioc.run();
    return result;
}

http_result upgrade_request(std::uint16_t port, std::string_view target, const header_fields& fields) {
    auto upgrade = fields;
    upgrade.emplace_back("Connection", "Upgrade");
    upgrade.emplace_back("Upgrade", "websocket");
    upgrade.emplace_back("Sec-WebSocket-Version", "13");
    upgrade.emplace_back("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
    return http_request(port, "GET", target, {}, upgrade);
}

}  // namespace server_test
