// Graceful shutdown: new submits are refused, accepted cascades finish and send their done,
// sessions close with 1012, and the server reports itself drained.
#include "support.hpp"

#include <catch2/catch.hpp>

#include <optional>

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

TEST_CASE("a cascade still running at the bus's deadline ends in done failed/cancelled, then close 1012",
          "[server][shutdown]") {
    fixture f;
    ws_client client{f.port()};
    client.send(json{{"type", "submit"}, {"id", "stuck"}, {"name", "Hold"}, {"data", {{"key", "k"}}}});
    CHECK(client.read()["type"] == "ack");

    f.server.begin_drain();
    CHECK_FALSE(f.bus.shutdown(std::chrono::milliseconds{10}));  // the gate stays shut: the deadline passes

    std::vector<json> frames;
    const auto closed = client.read_until_closed(&frames);
    CHECK(closed.code == 1012);
    REQUIRE(frames.size() == 1);
    CHECK(frames[0]["type"] == "done");
    CHECK(frames[0]["re"] == "stuck");
    CHECK(frames[0]["status"] == "failed");
    REQUIRE(frames[0]["errors"].size() == 1);
    CHECK(frames[0]["errors"][0]["code"] == "cancelled");
    CHECK(f.server.wait_drained(generous));
}

TEST_CASE("a cascade whose command is done when the deadline passes reports its result, not a cancellation",
          "[server][shutdown]") {
    fixture f;
    ws_client client{f.port()};
    client.send(json{{"type", "submit"}, {"id", "c1"}, {"name", "Linger"}, {"data", {{"key", "k"}}}});
    CHECK(client.read()["type"] == "ack");
    CHECK(client.read()["type"] == "event");  // Lingered: the command has completed

    f.server.begin_drain();
    CHECK_FALSE(f.bus.shutdown(std::chrono::milliseconds{10}));

    std::vector<json> frames;
    CHECK(client.read_until_closed(&frames).code == 1012);
    REQUIRE(frames.size() == 1);
    CHECK(frames[0]["status"] == "partial");
    CHECK(frames[0]["result"] == "k");
    REQUIRE(frames[0]["errors"].size() == 1);
    CHECK(frames[0]["errors"][0]["code"] == "unfinished");
}

TEST_CASE("stop cuts every connection and returns once they have ended", "[server][shutdown]") {
    // Issue 10, bug 8: stop posted the cuts and stopped the I/O threads at once, so the cuts never
    // ran: sessions outlived stop() with their sockets open. Fails on 6a92baa (sessions() == 2).
    fixture f;
    ws_client busy{f.port()};
    ws_client idle{f.port()};
    busy.send(json{{"type", "submit"}, {"id", "held"}, {"name", "Hold"}, {"data", {{"key", "k"}}}});
    CHECK(busy.read()["type"] == "ack");

    f.server.stop();

    CHECK(f.server.sessions() == 0);
    for (auto* client : {&busy, &idle}) {
        const auto end = client->read_any(generous);
        CHECK_FALSE(end.frame.has_value());
        CHECK((end.closed.has_value() || !end.error.empty()));
    }
}

TEST_CASE("with the bus on the server's I/O thread, submits are served and the drain still works",
          "[server][shutdown][executor]") {
    fixture f{test_options(), {}, fixture::bus_placement::io_context};
    ws_client client{f.port()};
    const auto frames = submit_and_collect(client, "c1", "Touch", {{"key", "k"}, {"events", 3}});
    REQUIRE(frames.size() == 5);  // ack, three events, done
    CHECK(frames.back()["status"] == "ok");

    client.send(json{{"type", "submit"}, {"id", "held"}, {"name", "Hold"}, {"data", {{"key", "k"}}}});
    CHECK(client.read()["type"] == "ack");
    f.server.begin_drain();
    f.hold_gate->open();
    std::vector<json> rest;
    CHECK(client.read_until_closed(&rest).code == 1012);
    REQUIRE(rest.size() == 2);
    CHECK(rest.back()["type"] == "done");
    CHECK(rest.back()["status"] == "ok");
}

TEST_CASE("a draining session refuses subscriptions and closes with 1012 while its client keeps sending",
          "[server][shutdown]") {
    // The writer used to close only on an empty queue, and a client that pipelines requests keeps
    // one answer always queued: it never got its 1012 and was cut at the deadline.
    fixture f;
    ws_client client{f.port()};
    client.send(json{{"type", "submit"}, {"id", "held"}, {"name", "Hold"}, {"data", {{"key", "k"}}}});
    CHECK(client.read()["type"] == "ack");
    f.server.begin_drain();

    client.send(json{{"type", "subscribe"}, {"id", "s1"}});
    const auto refused = client.read();
    CHECK(refused["code"] == "shutting_down");  // no new subscriptions while draining

    // 64 pings ahead, one more for every frame read: an answer is always queued.
    std::uint64_t sent = 0;
    const auto ping = [&] { client.send(json{{"type", "ping"}, {"id", "p" + std::to_string(sent++)}}); };
    for (int i = 0; i < 64; ++i) {
        ping();
    }
    f.hold_gate->open();
    std::optional<close_info> closed;
    bool done = false;
    for (int reads = 0; reads < 200'000 && !closed; ++reads) {
        auto r = client.read_any(generous);
        if (r.closed) {
            closed = r.closed;
        } else if (r.frame) {
            done = done || (*r.frame)["type"] == "done";
            ping();
        } else {
            FAIL("the connection ended without a close frame: " << r.error);
        }
    }
    REQUIRE(closed.has_value());
    CHECK(closed->code == 1012);
    CHECK(done);
}
