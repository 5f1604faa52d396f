// Protocol v1 over a real WebSocket: every frame type and every error code.
#include "support.hpp"

#include <catch2/catch.hpp>

using namespace server_test;

namespace {

json submit_frame(const std::string& id, std::string_view name, const json& data) {
    return {{"type", "submit"}, {"id", id}, {"name", name}, {"data", data}};
}

}  // namespace

TEST_CASE("the welcome frame announces the protocol, the session and the limits", "[server][session]") {
    fixture f;
    ws_client client{f.port()};
    const auto& welcome = client.welcome();
    CHECK(welcome["type"] == "welcome");
    CHECK(welcome["protocol"] == 1);
    CHECK_FALSE(welcome["session"].get<std::string>().empty());
    CHECK(welcome["limits"]["max_frame_bytes"] == 64 * 1024);
    CHECK(welcome["limits"]["max_in_flight"] == 256);
    ws_client other{f.port()};
    CHECK(other.welcome()["session"] != welcome["session"]);
}

TEST_CASE("an accepted submit streams ack, each event, then done", "[server][session]") {
    fixture f;
    ws_client client{f.port()};
    const auto frames = submit_and_collect(client, "c1", "Touch", {{"key", "k1"}, {"events", 3}});
    REQUIRE(frames.size() == 5);
    CHECK(frames[0]["type"] == "ack");
    CHECK(frames[0]["re"] == "c1");
    const auto message_id = frames[0]["message_id"].get<std::string>();
    CHECK_FALSE(message_id.empty());
    for (int n = 1; n <= 3; ++n) {
        const auto& event = frames[static_cast<std::size_t>(n)];
        CHECK(event["type"] == "event");
        CHECK(event["re"] == "c1");
        CHECK(event["n"] == n);
        CHECK(event["event"]["name"] == "Touched");
        CHECK(event["event"]["aggregate"] == "k1");
        CHECK(event["event"]["correlation_id"] == message_id);
        CHECK(event["event"]["causation_id"] == message_id);
        CHECK(event["event"]["depth"] == 1);
        CHECK(event["event"]["data"] == json{{"key", "k1"}, {"seq", n}});
        CHECK(event["event"].contains("id"));
    }
    const auto& done = frames[4];
    CHECK(done["type"] == "done");
    CHECK(done["re"] == "c1");
    CHECK(done["status"] == "ok");
    CHECK(done["result"] == "k1");
    CHECK(done["events"] == 3);
    CHECK(done["errors"] == json::array());
}

TEST_CASE("a command whose handler fails ends in done/failed with the reason", "[server][session]") {
    fixture f;
    ws_client client{f.port()};
    const auto frames = submit_and_collect(client, "c1", "Refuse", {{"key", "LAMP"}, {"reason", "Invalid sku LAMP"}});
    REQUIRE(frames.size() == 2);
    CHECK(frames[0]["type"] == "ack");
    const auto& done = frames[1];
    CHECK(done["status"] == "failed");
    CHECK(done["result"].is_null());
    CHECK(done["events"] == 0);
    REQUIRE(done["errors"].size() == 1);
    CHECK(done["errors"][0]["handler"] == "refuse");
    CHECK(done["errors"][0]["code"] == "command_failed");
    CHECK(done["errors"][0]["message"] == "Invalid sku LAMP");
}

TEST_CASE("an event handler failing after its retries makes the cascade partial", "[server][session]") {
    fixture f;
    ws_client client{f.port()};
    const auto frames = submit_and_collect(client, "c1", "Stumble", {{"key", "k"}});
    REQUIRE(frames.size() == 3);
    CHECK(frames[1]["type"] == "event");
    CHECK(frames[1]["event"]["name"] == "Broken");
    const auto& done = frames[2];
    CHECK(done["status"] == "partial");
    CHECK(done["events"] == 1);
    REQUIRE(done["errors"].size() == 1);
    CHECK(done["errors"][0]["handler"] == "always_fails");
    CHECK(done["errors"][0]["code"] == "handler_failed");
}

TEST_CASE("ping is answered with pong", "[server][session]") {
    fixture f;
    ws_client client{f.port()};
    client.send(json{{"type", "ping"}, {"id", "p1"}});
    CHECK(client.read() == json{{"type", "pong"}, {"re", "p1"}});
}

TEST_CASE("refusals before acceptance are exactly one error frame with a stable code", "[server][session]") {
    fixture f;
    ws_client client{f.port()};
    const auto expect_error = [&](const json& frame, const char* code, std::optional<std::string> re) {
        client.send(frame);
        const auto error = client.read();
        CHECK(error["type"] == "error");
        CHECK(error["code"] == code);
        CHECK_FALSE(error["message"].get<std::string>().empty());
        CHECK(error["retryable"] ==
              (std::string_view{code} == "overloaded" || std::string_view{code} == "shutting_down"));
        if (re) {
            CHECK(error["re"] == *re);
        } else {
            CHECK_FALSE(error.contains("re"));
        }
        // Nothing else about it follows: the next answer is the pong.
        client.send(json{{"type", "ping"}, {"id", "after"}});
        CHECK(client.read() == json{{"type", "pong"}, {"re", "after"}});
        return error;
    };

    SECTION("bad_request: not JSON, not an object, missing or mistyped fields") {
        client.send_text("this is not json");
        auto error = client.read();
        CHECK(error["code"] == "bad_request");
        CHECK_FALSE(error.contains("re"));
        expect_error(json::array({1, 2}), "bad_request", std::nullopt);
        expect_error(json{{"type", "submit"}, {"id", 7}}, "bad_request", std::nullopt);
        auto named = expect_error(json{{"type", "submit"}, {"id", "c1"}, {"name", "Touch"}}, "bad_request", "c1");
        CHECK(named["message"].get<std::string>().find("data") != std::string::npos);
        expect_error(json{{"type", "teleport"}, {"id", "t1"}}, "bad_request", "t1");
    }
    SECTION("unknown_message") {
        const auto error = expect_error(submit_frame("c2", "NoSuchThing", json::object()), "unknown_message", "c2");
        CHECK(error["message"].get<std::string>().find("NoSuchThing") != std::string::npos);
    }
    SECTION("invalid_data names the field") {
        const auto error =
            expect_error(submit_frame("c3", "Touch", {{"key", "k"}, {"events", "many"}}), "invalid_data", "c3");
        CHECK(error["message"].get<std::string>().find("events") != std::string::npos);
    }
    SECTION("duplicate_id while the first is in flight, and reusable once it is done") {
        client.send(submit_frame("h1", "Hold", {{"key", "held"}}));
        CHECK(client.read()["type"] == "ack");
        expect_error(submit_frame("h1", "Touch", {{"key", "k"}, {"events", 0}}), "duplicate_id", "h1");
        f.hold_gate->open();
        CHECK(client.read()["type"] == "event");
        CHECK(client.read()["type"] == "done");
        const auto frames = submit_and_collect(client, "h1", "Touch", {{"key", "k"}, {"events", 0}});
        CHECK(frames.back()["type"] == "done");
    }
    SECTION("shutting_down once the server drains") {
        // A cascade in flight keeps the session open while the server drains.
        client.send(submit_frame("h1", "Hold", {{"key", "held"}}));
        CHECK(client.read()["type"] == "ack");
        f.server.begin_drain();
        expect_error(submit_frame("c4", "Touch", {{"key", "k"}, {"events", 0}}), "shutting_down", "c4");
    }
}

TEST_CASE("an unexpected failure is an internal error, and the connection lives on", "[server][session]") {
    fixture f;
    ws_client client{f.port()};
    // Explode's decoder throws a std::logic_error: a bug, not bad input.
    client.send(submit_frame("c1", "Explode", {{"key", "k"}}));
    const auto error = client.read();
    CHECK(error["type"] == "error");
    CHECK(error["re"] == "c1");
    CHECK(error["code"] == "internal");
    CHECK(error["retryable"] == false);
    const auto frames = submit_and_collect(client, "c2", "Touch", {{"key", "k"}, {"events", 1}});
    CHECK(frames.back()["status"] == "ok");
}

TEST_CASE("subscriptions receive the events of everyone's submits that match", "[server][session]") {
    fixture f;
    ws_client watcher{f.port()};
    ws_client all{f.port()};
    ws_client worker{f.port()};
    watcher.send(json{{"type", "subscribe"}, {"id", "s1"}, {"names", {"Touched"}}, {"aggregates", {"k2"}}});
    const auto subscribed = watcher.read();
    CHECK(subscribed["type"] == "subscribed");
    CHECK(subscribed["re"] == "s1");
    CHECK(subscribed["from_seq"] == 1);  // nothing was published yet: the log's first seq is next
    CHECK(subscribed["epoch"] == watcher.welcome()["epoch"]);
    all.send(json{{"type", "subscribe"}, {"id", "s1"}});
    CHECK(all.read()["type"] == "subscribed");

    (void)submit_and_collect(worker, "w1", "Touch", {{"key", "k1"}, {"events", 2}});
    (void)submit_and_collect(worker, "w2", "Touch", {{"key", "k2"}, {"events", 1}});
    (void)submit_and_collect(worker, "w3", "Stumble", {{"key", "k2"}});

    // The filtered one sees only Touched on k2; the unfiltered one sees all four events in order of
    // the submits (each cascade's own events in order).
    const auto only = watcher.read();
    CHECK(only["type"] == "event");
    CHECK(only["sub"] == "s1");
    CHECK(only["event"]["name"] == "Touched");
    CHECK(only["event"]["aggregate"] == "k2");
    CHECK_FALSE(only.contains("re"));
    CHECK(only["seq"] == 3);
    std::vector<std::string> seen;
    for (int i = 0; i < 4; ++i) {
        const auto e = all.read();
        CHECK(e["sub"] == "s1");
        CHECK(e["seq"] == i + 1);  // numbered server-wide in the order they were published
        seen.push_back(e["event"]["name"].get<std::string>() + "/" + e["event"]["aggregate"].get<std::string>());
    }
    CHECK(seen == std::vector<std::string>{"Touched/k1", "Touched/k1", "Touched/k2", "Broken/k2"});

    // A subscription id is in flight: reusing it is a duplicate; unsubscribing ends the feed.
    watcher.send(json{{"type", "subscribe"}, {"id", "s1"}});
    CHECK(watcher.read()["code"] == "duplicate_id");
    watcher.send(json{{"type", "unsubscribe"}, {"id", "u1"}, {"sub", "s1"}});
    CHECK(watcher.read() == json{{"type", "unsubscribed"}, {"re", "u1"}, {"sub", "s1"}});
    watcher.send(json{{"type", "unsubscribe"}, {"id", "u2"}, {"sub", "s1"}});
    const auto error = watcher.read();
    CHECK(error["code"] == "bad_request");
    CHECK(error["re"] == "u2");
    (void)submit_and_collect(worker, "w4", "Touch", {{"key", "k2"}, {"events", 1}});
    watcher.send(json{{"type", "ping"}, {"id", "p"}});
    CHECK(watcher.read() == json{{"type", "pong"}, {"re", "p"}});  // no event came before the pong
    CHECK(all.read()["event"]["aggregate"] == "k2");
}

TEST_CASE("a client's own submit reaches its own subscription too", "[server][session]") {
    fixture f;
    ws_client client{f.port()};
    client.send(json{{"type", "subscribe"}, {"id", "s1"}, {"names", {"Touched"}}});
    CHECK(client.read()["type"] == "subscribed");
    client.send(submit_frame("c1", "Touch", {{"key", "k"}, {"events", 1}}));
    std::size_t feed = 0;
    std::size_t streamed = 0;
    for (bool done = false; !done;) {
        const auto frame = client.read();
        if (frame["type"] == "event") {
            (frame.contains("sub") ? feed : streamed) += 1;
        }
        done = frame["type"] == "done";
    }
    CHECK(streamed == 1);
    if (feed == 0) {
        CHECK(client.read()["sub"] == "s1");  // the feed copy may trail the done
    }
}

TEST_CASE("HTTP upgrades elsewhere than /ws are refused", "[server][session]") {
    fixture f;
    const auto response = http_request(f.port(), "GET", "/ws");
    CHECK(response.status == 426);
}
