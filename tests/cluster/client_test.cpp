#include "cluster/inbound_stream.hpp"
#include "cluster/nats_error.hpp"
#include "eventually.hpp"
#include "nats_server.hpp"

#include <catch2/catch.hpp>

using namespace test_support;

TEST_CASE("an unreachable nats-server is a clear error at connect", "[cluster][client]") {
    std::uint16_t free_port = 0;
    {
        const temp_folder folder;
        const nats_server gone{folder.path()};
        free_port = gone.port();
    }  // nothing listens there now
    const auto url = "nats://127.0.0.1:" + std::to_string(free_port);
    try {
        const cluster::nats_client client{{.url = url, .connect_timeout = std::chrono::milliseconds{500}}};
        FAIL("connected to a server that is not there");
    } catch (const cluster::nats_error& e) {
        CHECK(std::string{e.what()}.find("nats-server at " + url + " is unreachable") != std::string::npos);
        CHECK(e.retryable());
    }
}

TEST_CASE("a lost nats-server makes calls fail retryably, and the client reconnects by itself", "[cluster][client]") {
    const temp_folder folder;
    auto server = std::make_unique<nats_server>(folder.path());
    const auto port = server->port();
    cluster::nats_client client{options_for(*server)};
    cluster::inbound_stream stream{client, {}};
    CHECK(client.connected());
    CHECK(stream.publish(0, "before", "x").seq == 1);

    server->kill();
    REQUIRE(eventually([&] { return !client.connected(); }));
    try {
        (void)stream.publish(0, "meanwhile", "x");
        FAIL("a publish without a server was acknowledged");
    } catch (const cluster::nats_error& e) {
        CHECK(e.retryable());
    }

    server = std::make_unique<nats_server>(folder.path(), port);  // same port, same store
    REQUIRE(eventually([&] { return client.connected(); }));
    // The failed publish may have been stored all the same (libnats buffers it through the
    // reconnect): retrying it under its id stores it once either way.
    (void)stream.publish(0, "meanwhile", "x");
    const auto after = stream.publish(0, "after", "x");
    CHECK_FALSE(after.duplicate);
    CHECK(stream.message_count() == 3);  // the stream survived the kill with what it had stored
}
