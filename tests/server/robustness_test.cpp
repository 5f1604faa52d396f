// Bad input and load: the offending client gets its error frame or close code, everyone else
// notices nothing, and the server stays up.
#include "support.hpp"

#include <catch2/catch.hpp>

using namespace server_test;

namespace {

json submit_frame(const std::string& id, std::string_view name, const json& data) {
    return {{"type", "submit"}, {"id", id}, {"name", name}, {"data", data}};
}

/// A bystander's round trip still works: the server is up and this client was not disturbed.
void check_bystander(ws_client& bystander, const std::string& id) {
    const auto frames = submit_and_collect(bystander, id, "Touch", {{"key", "calm"}, {"events", 1}});
    REQUIRE(frames.size() == 3);
    CHECK(frames.back()["status"] == "ok");
}

}  // namespace

TEST_CASE("garbage of every kind gets error frames and the connection lives on", "[server][robustness]") {
    fixture f;
    ws_client bystander{f.port()};
    ws_client client{f.port()};
    const std::vector<std::string> garbage{
        "",
        "{",
        "null",
        "\"just a string\"",
        R"({"type":null,"id":"x"})",
        R"({"type":"submit","id":"x","name":"Touch","data":"not an object"})",
        R"({"type":"submit","id":["x"],"name":"Touch","data":{}})",
        R"({"type":"subscribe","id":"x","names":[1,2]})",
        R"({"type":"submit","id":"\ud800","name":"Touch","data":{}})",  // a lone surrogate: invalid JSON text
        std::string(60'000, '['),
    };
    for (const auto& text : garbage) {
        CAPTURE(text.substr(0, 80));
        client.send_text(text);
        const auto error = client.read();
        CHECK(error["type"] == "error");
        // An unclosed nest of 60,000 brackets is over the nesting limit before it is incomplete.
        CHECK((error["code"] == "bad_request" || error["code"] == "invalid_data" || error["code"] == "limit_exceeded"));
    }
    client.send_binary("\x01\x02\x03");
    const auto binary = client.read();
    CHECK(binary["code"] == "bad_request");
    CHECK(binary["message"].get<std::string>().find("binary") != std::string::npos);

    const auto frames = submit_and_collect(client, "ok", "Touch", {{"key", "k"}, {"events", 2}});
    CHECK(frames.back()["status"] == "ok");
    check_bystander(bystander, "b1");
    CHECK(f.server.metrics().refusals(gateway::protocol::refusal::bad_request) >= garbage.size());
}

TEST_CASE("invalid UTF-8 in a text frame closes with 1007, others carry on", "[server][robustness]") {
    fixture f;
    ws_client bystander{f.port()};
    ws_client client{f.port()};
    client.send_text("{\"type\":\"ping\",\"id\":\"\xff\xfe\"}");
    const auto closed = client.read_until_closed();
    CHECK(closed.code == 1007);
    check_bystander(bystander, "b1");
}

TEST_CASE("a frame over the size limit closes with 1009, others carry on", "[server][robustness]") {
    fixture f;
    ws_client bystander{f.port()};
    ws_client client{f.port()};
    const auto limit = client.welcome()["limits"]["max_frame_bytes"].get<std::size_t>();
    json big = submit_frame("c1", "Touch", {{"key", std::string(limit, 'x')}, {"events", 0}});
    client.send_text(big.dump());
    const auto closed = client.read_until_closed();
    CHECK(closed.code == 1009);
    check_bystander(bystander, "b1");

    // Just under the limit is fine (in strings each under the string limit).
    ws_client fits{f.port()};
    json ping{{"type", "ping"}, {"id", "p"}, {"pad", json::array()}};
    const std::string piece(1000, 'p');
    while (ping.dump().size() + piece.size() + 3 < limit) {
        ping["pad"].push_back(piece);
    }
    CHECK(ping.dump().size() > limit - 1100);
    fits.send(ping);
    CHECK(fits.read()["type"] == "pong");
}

TEST_CASE("past the cap of submits in flight the next one is overloaded", "[server][robustness]") {
    auto options = test_options();
    options.limits.max_in_flight = 8;
    fixture f{options};
    ws_client client{f.port()};
    CHECK(client.welcome()["limits"]["max_in_flight"] == 8);
    for (int i = 0; i < 8; ++i) {
        client.send(submit_frame("h" + std::to_string(i), "Hold", {{"key", "k" + std::to_string(i)}}));
        CHECK(client.read()["type"] == "ack");
    }
    client.send(submit_frame("one-too-many", "Touch", {{"key", "k"}, {"events", 0}}));
    const auto error = client.read();
    CHECK(error["type"] == "error");
    CHECK(error["re"] == "one-too-many");
    CHECK(error["code"] == "overloaded");
    CHECK(error["retryable"] == true);
    // Other connections have their own cap.
    ws_client other{f.port()};
    other.send(submit_frame("h", "Hold", {{"key", "other"}}));
    CHECK(other.read()["type"] == "ack");

    f.hold_gate->open();
    std::size_t dones = 0;
    while (dones < 8) {
        dones += client.read()["type"] == "done" ? 1 : 0;
    }
    // Room again.
    const auto frames = submit_and_collect(client, "again", "Touch", {{"key", "k"}, {"events", 0}});
    CHECK(frames.back()["type"] == "done");
}

TEST_CASE("the default cap of submits in flight is 256", "[server][robustness]") {
    CHECK(gateway::session_limits{}.max_in_flight == 256);
    CHECK(gateway::session_limits{}.max_frame_bytes == 64 * 1024);
}

TEST_CASE("a client that stops reading is disconnected with 4008, the others keep going", "[server][robustness]") {
    auto options = test_options();
    options.limits.max_queued_frames = 512;
    options.limits.max_queued_bytes = 64 * 1024;
    options.limits.write_coalesce_bytes = 16 * 1024;
    options.limits.socket_send_buffer = 16 * 1024;
    options.limits.close_grace = std::chrono::minutes{5};  // the test reads the disconnect itself
    fixture f{options};

    ws_client slow{f.port(), 4096};  // a small receive window, then it stops reading
    slow.send(json{{"type", "subscribe"}, {"id", "everything"}});
    CHECK(slow.read()["type"] == "subscribed");

    ws_client fast{f.port()};
    ws_client bystander{f.port()};
    const json data = {{"key", "flood"}, {"events", 50}};
    std::size_t submits = 0;
    // Bounded: each submit queues 50 feed frames on the slow client, whose queue holds 64 KiB.
    while (gateway::gateway_metrics::read(f.server.metrics().slow_consumers) == 0 && submits < 5'000) {
        const auto frames = submit_and_collect(fast, "f" + std::to_string(submits++), "Touch", data);
        REQUIRE(frames.size() == 52);  // the fast client gets every frame of every submit
        REQUIRE(frames.back()["status"] == "ok");
    }
    REQUIRE(gateway::gateway_metrics::read(f.server.metrics().slow_consumers) == 1);
    check_bystander(bystander, "b1");
    check_bystander(fast, "after");

    // Now the slow client reads: whatever had been written, then the disconnect frame, then 4008.
    std::vector<json> frames;
    const auto closed = slow.read_until_closed(&frames);
    CHECK(closed.code == 4008);
    REQUIRE_FALSE(frames.empty());
    CHECK(frames.back() == json{{"type", "disconnect"}, {"code", 4008}, {"reason", "slow consumer"}});

    // It resumes where it was cut: from the seq after the last one it saw, it gets everything since.
    std::uint64_t last_seen = 0;
    for (const auto& frame : frames) {
        if (frame["type"] == "event") {
            REQUIRE(frame.contains("seq"));
            CHECK(frame["seq"] == last_seen + 1);
            last_seen = frame["seq"].get<std::uint64_t>();
        }
    }
    ws_client resumed{f.port()};
    const auto last_seq = resumed.welcome()["last_seq"].get<std::uint64_t>();
    REQUIRE(last_seen < last_seq);
    resumed.send(json{{"type", "subscribe"},
                      {"id", "everything"},
                      {"from_seq", last_seen + 1},
                      {"epoch", slow.welcome()["epoch"]}});  // the log its seqs came from
    CHECK(resumed.read()["type"] == "subscribed");
    for (auto seq = last_seen + 1; seq <= last_seq; ++seq) {
        const auto frame = resumed.read();
        REQUIRE(frame["type"] == "event");
        REQUIRE(frame["seq"] == seq);
    }
}
