// Graceful shutdown: new submits are refused, accepted cascades finish and send their done,
// sessions close with 1012, and the server reports itself drained.
#include "support.hpp"

#include <catch2/catch.hpp>

using namespace server_test;

TEST_CASE("draining refuses new submits, finishes accepted cascades, then closes with 1012", "[server][shutdown]") {
    fixture f;
    ws_client busy{f.port()};
    ws_client idle{f.port()};
    busy.send(json{{"type", "submit"}, {"id", "held"}, {"name", "Hold"}, {"data", {{"key", "k"}}}});
    CHECK(busy.read()["type"] == "ack");

    f.server.begin_drain();

    // The idle session has nothing in flight: it closes at once.
    CHECK(idle.read_until_closed().code == 1012);

    // The busy one may still talk, but new submits are refused, retryably.
    busy.send(json{{"type", "submit"}, {"id", "late"}, {"name", "Touch"}, {"data", {{"key", "k"}, {"events", 0}}}});
    const auto refused = busy.read();
    CHECK(refused["type"] == "error");
    CHECK(refused["re"] == "late");
    CHECK(refused["code"] == "shutting_down");
    CHECK(refused["retryable"] == true);
    // The busy session lives on. The idle one's close frame can reach its client before the
    // server has finished tearing that session down, so it may still be counted here.
    CHECK(f.server.sessions() >= 1);

    // The accepted cascade finishes and sends everything, then the session closes.
    f.hold_gate->open();
    std::vector<json> frames;
    const auto closed = busy.read_until_closed(&frames);
    CHECK(closed.code == 1012);
    REQUIRE(frames.size() == 2);
    CHECK(frames[0]["type"] == "event");
    CHECK(frames[1]["type"] == "done");
    CHECK(frames[1]["re"] == "held");
    CHECK(frames[1]["status"] == "ok");

    CHECK(f.server.wait_drained(generous));
    CHECK(f.server.sessions() == 0);
}

TEST_CASE("a drained server with no sessions is drained at once, and stop is idempotent", "[server][shutdown]") {
    fixture f;
    f.server.begin_drain();
    CHECK(f.server.wait_drained(generous));
    f.server.stop();
    f.server.stop();
}
