// TLS on the server's one port: wss:// and https:// with a certificate made at run time; what is
// not TLS fails cleanly and the server serves on; files it cannot use stop it at start.
#include "tls.hpp"

#include "server_process.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <openssl/ssl.h>

using namespace server_test;

namespace {

gateway::server_options tls_options(gateway::tls_files files) {
    auto options = test_options();
    options.tls = std::move(files);
    return options;
}

gateway::server_options tls_options(const test_certificate& files) {
    return tls_options({.certificate_chain = files.certificate, .private_key = files.key});
}

}  // namespace

TEST_CASE("over TLS the port serves https and wss, the same routes and protocol", "[server][tls]") {
    const temp_folder folder;
    const test_certificate files{folder.path(), "server"};
    fixture f{tls_options(files)};

    const auto health = https_request(f.port(), files.certificate, "GET", "/health");
    CHECK(health.status == 200);
    const auto posted = https_request(f.port(), files.certificate, "POST", "/messages",
                                      R"({"name":"Touch","data":{"key":"k","events":1}})");
    CHECK(posted.status == 200);
    CHECK(posted.body_json()["status"] == "ok");

    const auto frames = wss_exchange(
        f.port(), files.certificate,
        {json{{"type", "submit"}, {"id", "c1"}, {"name", "Touch"}, {"data", {{"key", "k"}, {"events", 2}}}}}, 5);
    REQUIRE(frames.size() == 5);
    CHECK(frames[0]["type"] == "welcome");
    CHECK(frames[1]["type"] == "ack");
    CHECK(frames[2]["type"] == "event");
    CHECK(frames[3]["type"] == "event");
    CHECK(frames[4]["type"] == "done");
    CHECK(frames[4]["status"] == "ok");
}

TEST_CASE("a plain client on the TLS port fails cleanly and the server serves on", "[server][tls]") {
    const temp_folder folder;
    const test_certificate files{folder.path(), "server"};
    fixture f{tls_options(files)};

    const auto plain = raw_exchange(f.port(), "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    CHECK(plain.received.find("HTTP/1.1") == std::string::npos);  // no HTTP answer, only TLS's alert
    CHECK_THROWS(http_request(f.port(), "GET", "/health"));

    // TLS below 1.2 is refused, whatever the client offers: the server's context says so itself
    // (OpenSSL's defaults might too, but they are not ours to rely on).
    CHECK(SSL_CTX_get_min_proto_version(
              gateway::make_tls_context({.certificate_chain = files.certificate, .private_key = files.key})
                  ->native_handle()) == TLS1_2_VERSION);
    CHECK_FALSE(tls_handshake_error(f.port(), files.certificate, TLS1_1_VERSION).empty());
    CHECK(tls_handshake_error(f.port(), files.certificate, TLS1_2_VERSION).empty());

    CHECK(https_request(f.port(), files.certificate, "GET", "/health").status == 200);
    // Counted after the handshake fails, on the connection's own thread: maybe after the client saw it.
    CHECK(eventually_true([&] {
        return https_request(f.port(), files.certificate, "GET", "/metrics")
                   .body.find("cascade_gateway_refused_connections_total{reason=\"tls_handshake\"} 3\n") !=
               std::string::npos;
    }));
}

TEST_CASE("a certificate or key the server cannot use stops it at start, naming the file", "[server][tls]") {
    const temp_folder folder;
    const test_certificate files{folder.path(), "server"};
    const test_certificate other{folder.path(), "other"};
    const auto refused = [](gateway::tls_files given) -> std::string {
        try {
            fixture f{tls_options(std::move(given))};
        } catch (const std::exception& e) {
            return e.what();
        }
        return {};
    };
    CHECK_THAT(refused({.certificate_chain = folder.path() + "/missing.crt", .private_key = files.key}),
               Catch::Contains("--tls-cert") && Catch::Contains("missing.crt"));
    CHECK_THAT(refused({.certificate_chain = files.certificate, .private_key = folder.path() + "/missing.key"}),
               Catch::Contains("--tls-key") && Catch::Contains("missing.key"));
    CHECK_THAT(refused({.certificate_chain = files.key, .private_key = files.key}), Catch::Contains("--tls-cert"));
    CHECK_THAT(refused({.certificate_chain = files.certificate, .private_key = other.key}),
               Catch::Contains("--tls-key") && Catch::Contains("other.key") && Catch::Contains("mismatch"));

    // The process says so and exits non-zero.
    const auto log = folder.path() + "/server.log";
    const auto command = std::string{CASCADE_SERVER_PATH} + " --listen 127.0.0.1:0 --store memory --tls-cert " +
                         folder.path() + "/missing.crt --tls-key " + files.key + " >" + log + " 2>&1";
    const int status = std::system(command.c_str());
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) != 0);
    CHECK_THAT(read_text(log), Catch::Contains("missing.crt"));
}
