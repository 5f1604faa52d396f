// TLS clients for the gateway's tests: a certificate made at run time with Debian's openssl, an
// https request and a wss session that trust only that certificate.
#include "support.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <cstdlib>
#include <openssl/ssl.h>
#include <stdexcept>

namespace server_test {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

namespace {

/// A client context that trusts `ca` only, for TLS 1.2 and up (or exactly `version` when given).
ssl::context client_context(const std::string& ca, std::optional<int> version = std::nullopt) {
    ssl::context context{ssl::context::tls_client};
    context.load_verify_file(ca);
    context.set_verify_mode(ssl::verify_peer);
    if (version) {
        // Allowed to offer an old version at all, so that refusing it is the server's doing.
        SSL_CTX_set_security_level(context.native_handle(), 0);
        SSL_CTX_set_min_proto_version(context.native_handle(), *version);
        SSL_CTX_set_max_proto_version(context.native_handle(), *version);
    }
    return context;
}

template <class Body>
void run(net::io_context& ioc, Body body) {
    net::co_spawn(ioc, std::move(body), [](const std::exception_ptr& e) {
        if (e) {
            std::rethrow_exception(e);
        }
    });
    ioc.run();
}

net::awaitable<void> connect_tls(beast::ssl_stream<beast::tcp_stream>& stream, std::uint16_t port) {
    beast::get_lowest_layer(stream).expires_after(generous);
    co_await beast::get_lowest_layer(stream).async_connect(tcp::endpoint{net::ip::make_address("127.0.0.1"), port},
                                                           net::use_awaitable);
    stream.set_verify_callback(ssl::host_name_verification{"127.0.0.1"});
    co_await stream.async_handshake(ssl::stream_base::client, net::use_awaitable);
}

}  // namespace

test_certificate::test_certificate(const std::string& folder, const std::string& name)
    : certificate{folder + "/" + name + ".crt"}, key{folder + "/" + name + ".key"} {
    const auto command =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
        "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " +
        key + " -out " + certificate + " 2>/dev/null";
    if (std::system(command.c_str()) != 0) {
        throw std::runtime_error{"openssl could not make a test certificate (is Debian's openssl installed?)"};
    }
}

http_result https_request(std::uint16_t port, const std::string& ca, std::string_view method, std::string_view target,
                          std::string_view body) {
    net::io_context ioc;
    auto context = client_context(ca);
    beast::ssl_stream<beast::tcp_stream> stream{ioc, context};
    http_result result;
    run(ioc, [&]() -> net::awaitable<void> {
        co_await connect_tls(stream, port);
        http::request<http::string_body> request{http::string_to_verb(method), std::string{target}, 11};
        request.set(http::field::host, "127.0.0.1");
        request.body() = std::string{body};
        request.prepare_payload();
        co_await http::async_write(stream, request, net::use_awaitable);
        beast::flat_buffer buffer;
        http::response<http::string_body> response;
        co_await http::async_read(stream, buffer, response, net::use_awaitable);
        result.status = response.result_int();
        result.content_type = std::string{response[http::field::content_type]};
        result.body = std::move(response.body());
    });
    return result;
}

std::string tls_handshake_error(std::uint16_t port, const std::string& ca, int version) {
    net::io_context ioc;
    auto context = client_context(ca, version);
    beast::ssl_stream<beast::tcp_stream> stream{ioc, context};
    std::string error;
    run(ioc, [&]() -> net::awaitable<void> {
        try {
            co_await connect_tls(stream, port);
        } catch (const boost::system::system_error& e) {
            error = e.what();
        }
    });
    return error;
}

std::vector<json> wss_exchange(std::uint16_t port, const std::string& ca, const std::vector<json>& frames,
                               std::size_t replies) {
    net::io_context ioc;
    auto context = client_context(ca);
    websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws{ioc, context};
    std::vector<json> received;
    run(ioc, [&]() -> net::awaitable<void> {
        co_await connect_tls(ws.next_layer(), port);
        beast::get_lowest_layer(ws).expires_never();
        ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
        co_await ws.async_handshake("127.0.0.1", "/ws", net::use_awaitable);
        ws.text(true);
        for (const auto& frame : frames) {
            co_await ws.async_write(net::buffer(frame.dump()), net::use_awaitable);
        }
        beast::flat_buffer buffer;
        while (received.size() < replies) {
            buffer.clear();
            co_await ws.async_read(buffer, net::use_awaitable);
            received.push_back(json::parse(beast::buffers_to_string(buffer.data())));
        }
        co_await ws.async_close(websocket::close_code::normal, net::use_awaitable);
    });
    return received;
}

}  // namespace server_test
