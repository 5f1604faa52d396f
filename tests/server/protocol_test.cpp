// Protocol v1 parsing and formatting, without a network.
#include "gateway/protocol.hpp"

#include <catch2/catch.hpp>

using namespace gateway::protocol;
using json = nlohmann::json;

namespace {

struct test_note {
    static constexpr std::string_view name = "TestNote";
    static constexpr cascade::message_kind kind = cascade::message_kind::event;
    std::string key;
    [[nodiscard]] std::string_view aggregate() const noexcept { return key; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(test_note, key)

request_error expect_error(std::string_view text) {
    auto parsed = parse_request(text);
    REQUIRE(std::holds_alternative<request_error>(parsed));
    return std::get<request_error>(parsed);
}

request expect_request(std::string_view text) {
    auto parsed = parse_request(text);
    REQUIRE(std::holds_alternative<request>(parsed));
    return std::get<request>(parsed);
}

}  // namespace

TEST_CASE("a submit frame parses into its id, name and data", "[protocol]") {
    const auto req =
        expect_request(R"({"type":"submit","id":"c1","name":"AllocationRequired","data":{"orderid":"o1"}})");
    const auto& submit = std::get<submit_request>(req);
    CHECK(submit.id == "c1");
    CHECK(submit.name == "AllocationRequired");
    CHECK(submit.data == json{{"orderid", "o1"}});
}

TEST_CASE("subscribe, unsubscribe and ping parse", "[protocol]") {
    const auto sub = std::get<subscribe_request>(expect_request(R"({"type":"subscribe","id":"s1","names":["A","B"]})"));
    CHECK(sub.names == std::vector<std::string>{"A", "B"});
    CHECK(sub.aggregates.empty());
    CHECK(sub.start.from == gateway::log_start::point::now);
    const auto any = std::get<subscribe_request>(expect_request(R"({"type":"subscribe","id":"s2","aggregates":null})"));
    CHECK(any.names.empty());
    const auto resumed =
        std::get<subscribe_request>(expect_request(R"({"type":"subscribe","id":"s3","from_seq":42,"epoch":7})"));
    CHECK(resumed.start.from == gateway::log_start::point::seq);
    CHECK(resumed.start.seq == 42);
    CHECK(resumed.start.epoch == 7U);
    const auto earliest =
        std::get<subscribe_request>(expect_request(R"({"type":"subscribe","id":"s4","from":"earliest"})"));
    CHECK(earliest.start.from == gateway::log_start::point::earliest);
    CHECK_FALSE(earliest.start.epoch.has_value());
    const auto unsub = std::get<unsubscribe_request>(expect_request(R"({"type":"unsubscribe","id":"u1","sub":"s1"})"));
    CHECK(unsub.sub == "s1");
    CHECK(std::get<ping_request>(expect_request(R"({"type":"ping","id":"p1"})")).id == "p1");
    CHECK(std::get<gateway::protocol::catalog_request>(expect_request(R"({"type":"catalog","id":"k1"})")).id == "k1");
}

TEST_CASE("bad frames are bad_request errors that name the field", "[protocol]") {
    SECTION("not JSON, no id to answer") {
        const auto e = expect_error("{nope");
        CHECK(e.code == refusal::bad_request);
        CHECK_FALSE(e.re.has_value());
    }
    SECTION("not an object") {
        CHECK(expect_error("[1,2]").message == "frame must be a JSON object");
        CHECK(expect_error("42").code == refusal::bad_request);
    }
    SECTION("deeply nested input is over the limit, not a crash") {
        const auto error = expect_error(std::string(100'000, '['));
        CHECK(error.code == refusal::limit_exceeded);
        CHECK_THAT(error.message, Catch::Contains("deeper than 32"));
        CHECK(expect_error(std::string(33, '[') + std::string(33, ']')).code == refusal::limit_exceeded);
        CHECK(expect_error(std::string(32, '[') + std::string(32, ']')).code == refusal::bad_request);  // an array
    }
    SECTION("type missing or mistyped") {
        CHECK(expect_error(R"({"id":"x"})").message == "type: missing");
        CHECK(expect_error(R"({"type":7,"id":"x"})").message == "type: must be a string");
    }
    SECTION("id missing, mistyped or empty: no re") {
        CHECK(expect_error(R"({"type":"ping"})").message == "id: missing");
        const auto e = expect_error(R"({"type":"ping","id":5})");
        CHECK(e.message == "id: must be a non-empty string");
        CHECK_FALSE(e.re.has_value());
        CHECK(expect_error(R"({"type":"ping","id":""})").message == "id: must be a non-empty string");
    }
    SECTION("unknown frame type keeps the id") {
        const auto e = expect_error(R"({"type":"launch","id":"x1"})");
        CHECK(e.re == "x1");
        CHECK(e.message.find("launch") != std::string::npos);
    }
    SECTION("submit fields") {
        CHECK(expect_error(R"({"type":"submit","id":"c1","data":{}})").message == "name: missing");
        CHECK(expect_error(R"({"type":"submit","id":"c1","name":3,"data":{}})").message == "name: must be a string");
        CHECK(expect_error(R"({"type":"submit","id":"c1","name":"X"})").message == "data: missing");
        const auto e = expect_error(R"({"type":"submit","id":"c1","name":"X","data":[1]})");
        CHECK(e.message == "data: must be an object");
        CHECK(e.re == "c1");
    }
    SECTION("subscribe and unsubscribe fields") {
        CHECK(expect_error(R"({"type":"subscribe","id":"s1","names":"A"})").message ==
              "names: must be an array of strings");
        CHECK(expect_error(R"({"type":"subscribe","id":"s1","from_seq":-1})").message ==
              "from_seq: must be an integer from 1 up");
        CHECK(expect_error(R"({"type":"subscribe","id":"s1","from_seq":0})").message ==
              "from_seq: must be an integer from 1 up");
        CHECK(expect_error(R"({"type":"subscribe","id":"s1","from_seq":"7"})").message ==
              "from_seq: must be an integer from 1 up");
        CHECK(expect_error(R"({"type":"subscribe","id":"s1","from_seq":1,"epoch":1.5})").message ==
              "epoch: must be an integer from 0 up");
        CHECK(expect_error(R"({"type":"subscribe","id":"s1","epoch":7})").message ==
              "epoch: only with from_seq (the log that seq belongs to)");
        CHECK(expect_error(R"({"type":"subscribe","id":"s1","from":"latest"})").message ==
              R"(from: must be "earliest" (or use from_seq))");
        CHECK(expect_error(R"({"type":"subscribe","id":"s1","from":"earliest","from_seq":3})").message ==
              "from, from_seq: give one of them");
        CHECK(expect_error(R"({"type":"subscribe","id":"s1","aggregates":[1]})").message ==
              "aggregates: must be an array of strings");
        CHECK(expect_error(R"({"type":"unsubscribe","id":"u1"})").message == "sub: missing");
    }
}

TEST_CASE("error codes have stable strings and retryability", "[protocol]") {
    CHECK(to_string(refusal::bad_request) == "bad_request");
    CHECK(to_string(refusal::unknown_message) == "unknown_message");
    CHECK(to_string(refusal::invalid_data) == "invalid_data");
    CHECK(to_string(refusal::duplicate_id) == "duplicate_id");
    CHECK(to_string(refusal::overloaded) == "overloaded");
    CHECK(to_string(refusal::shutting_down) == "shutting_down");
    CHECK(to_string(refusal::internal) == "internal");
    CHECK(retryable(refusal::overloaded));
    CHECK(retryable(refusal::shutting_down));
    CHECK_FALSE(retryable(refusal::bad_request));
    CHECK_FALSE(retryable(refusal::internal));
}

TEST_CASE("server frames have the documented shape", "[protocol]") {
    CHECK(json::parse(ack_frame("c1", 42)) == json{{"type", "ack"}, {"re", "c1"}, {"message_id", "42"}});
    CHECK(json::parse(ack_frame("c1", 42, true)) ==
          json{{"type", "ack"}, {"re", "c1"}, {"message_id", "42"}, {"replay", true}});
    CHECK(json::parse(pong_frame("p1")) == json{{"type", "pong"}, {"re", "p1"}});
    CHECK(json::parse(subscribed_frame("s1", 9, 4)) ==
          json{{"type", "subscribed"}, {"re", "s1"}, {"epoch", 9}, {"from_seq", 4}});
    CHECK(json::parse(offset_error_frame("s1", refusal::offset_expired, "old", 9, 5, 12)) ==
          json{{"type", "error"},
               {"re", "s1"},
               {"code", "offset_expired"},
               {"message", "old"},
               {"retryable", false},
               {"epoch", 9},
               {"oldest_seq", 5},
               {"last_seq", 12}});
    CHECK(json::parse(unsubscribed_frame("u1", "s1")) == json{{"type", "unsubscribed"}, {"re", "u1"}, {"sub", "s1"}});
    CHECK(json::parse(disconnect_frame(4008, "slow consumer")) ==
          json{{"type", "disconnect"}, {"code", 4008}, {"reason", "slow consumer"}});
    const auto error = json::parse(error_frame("c1", refusal::overloaded, "full"));
    CHECK(error ==
          json{{"type", "error"}, {"re", "c1"}, {"code", "overloaded"}, {"message", "full"}, {"retryable", true}});
    CHECK_FALSE(json::parse(error_frame("", refusal::bad_request, "x")).contains("re"));
    const auto welcome = json::parse(welcome_frame("abc",
                                                   {.max_frame_bytes = 1,
                                                    .max_in_flight = 2,
                                                    .max_queued_frames = 3,
                                                    .max_queued_bytes = 4,
                                                    .max_subscriptions = 6,
                                                    .submit_rate = 7.5},
                                                   {.durable = true, .log_epoch = 77, .last_seq = 5}));
    CHECK(welcome["type"] == "welcome");
    CHECK(welcome["durable"] == true);
    CHECK(welcome["epoch"] == 77);
    CHECK(welcome["last_seq"] == 5);
    CHECK(welcome["protocol"] == 1);
    CHECK(welcome["session"] == "abc");
    CHECK(welcome["limits"]["max_in_flight"] == 2);
    CHECK(welcome["limits"]["max_subscriptions"] == 6);
    CHECK(welcome["limits"]["submit_rate"] == 7.5);
    const auto limited = json::parse(rate_limited_frame("c2", "slow down", std::chrono::milliseconds{250}));
    CHECK(limited == json{{"type", "error"},
                          {"re", "c2"},
                          {"code", "rate_limited"},
                          {"message", "slow down"},
                          {"retryable", true},
                          {"retry_after_ms", 250}});
    // Frames start with their type, for people reading them.
    CHECK(ack_frame("c1", 1).starts_with(R"({"type":"ack")"));
}

TEST_CASE("event and done frames carry the envelope and the outcome", "[protocol]") {
    const auto stamped = std::chrono::system_clock::time_point{std::chrono::milliseconds{1'764'496'800'123}};
    cascade::envelope env{.id = 7,
                          .causation_id = 5,
                          .correlation_id = 5,
                          .depth = 1,
                          .timestamp = stamped,
                          .message = cascade::any_message{test_note{"k"}}};
    const auto frame = json::parse(event_frame("c\"1", 3, 11, event_body(env)));
    CHECK(frame["seq"] == 11);
    CHECK(frame["event"]["timestamp_ms"] == 1'764'496'800'123);
    CHECK(frame["type"] == "event");
    CHECK(frame["re"] == "c\"1");
    CHECK(frame["n"] == 3);
    CHECK(frame["event"]["name"] == "TestNote");
    CHECK(frame["event"]["aggregate"] == "k");
    CHECK(frame["event"]["data"] == json{{"key", "k"}});
    CHECK(frame["event"]["correlation_id"] == "5");
    // Written directly, the wire form still says exactly what cascade::to_json says.
    CHECK(frame["event"] == cascade::to_json(env));

    // A replayed cascade's events are not new: they carry no seq.
    CHECK_FALSE(json::parse(event_frame("c1", 3, 0, event_body(env))).contains("seq"));

    const auto feed = json::parse(feed_event_frame("s1", 11, event_body(env)));
    CHECK(feed["sub"] == "s1");
    CHECK(feed["seq"] == 11);
    CHECK(feed["event"] == frame["event"]);

    cascade::outcome out{
        .id = 5, .status = cascade::cascade_status::partial, .result = nullptr, .events = {env}, .errors = {}};
    out.errors.push_back({.handler = "h", .code = "handler_failed", .message = "boom", .handled_id = 7});
    const auto done = json::parse(done_frame("c1", out));
    CHECK(done == json{{"type", "done"},
                       {"re", "c1"},
                       {"status", "partial"},
                       {"result", nullptr},
                       {"events", 1},
                       {"dropped", 0},
                       {"errors", json::array({{{"handler", "h"}, {"code", "handler_failed"}, {"message", "boom"}}})}});

    // A cascade that broke a limit says how many raised events it dropped.
    out.status = cascade::cascade_status::failed;
    out.dropped = 2;
    out.errors = {{.handler = "h", .code = "depth_exceeded", .message = "too deep", .handled_id = 7}};
    const auto limited = json::parse(done_frame("c2", out));
    CHECK(limited["status"] == "failed");
    CHECK(limited["dropped"] == 2);
    CHECK(limited["errors"][0]["code"] == "depth_exceeded");
}

TEST_CASE("an event's principal is on the wire only when known, as cascade::to_json writes it",
          "[protocol][principal]") {
    cascade::envelope env{.id = 2,
                          .causation_id = 1,
                          .correlation_id = 1,
                          .depth = 1,
                          .timestamp = {},
                          .message = cascade::any_message{test_note{"k"}}};
    CHECK_FALSE(json::parse(event_body(env)).contains("principal"));
    for (const std::string principal : {"auth0|alice", "quote\" tab\t \xc3\xa9"}) {
        env.principal = principal;
        const auto event = json::parse(event_body(env));
        CHECK(event["principal"] == principal);
        CHECK(event == cascade::to_json(env));
    }
}

TEST_CASE("strings that need escaping survive the directly written frames", "[protocol]") {
    const std::string awkward = "tab\t quote\" backslash\\ newline\n \xc3\xa9t\xc3\xa9 \x01";
    cascade::envelope env{.id = 1,
                          .causation_id = 0,
                          .correlation_id = 1,
                          .depth = 0,
                          .timestamp = {},
                          .message = cascade::any_message{test_note{awkward}}};
    const auto event = json::parse(event_frame(awkward, 1, 1, event_body(env)));
    CHECK(event["re"] == awkward);
    CHECK(event["event"]["aggregate"] == awkward);
    CHECK(event["event"]["causation_id"] == nullptr);
    CHECK(json::parse(ack_frame(awkward, 1))["re"] == awkward);
    CHECK(json::parse(unsubscribed_frame("u", awkward))["sub"] == awkward);

    // Invalid UTF-8 (a handler's own message, say) is replaced, never sent as is.
    cascade::outcome out{
        .id = 1, .status = cascade::cascade_status::failed, .result = nullptr, .events = {}, .errors = {}};
    out.errors.push_back({.handler = "h", .code = "c", .message = "bad \xff byte", .handled_id = 1});
    const auto done = json::parse(done_frame("c1", out));
    CHECK(done["errors"][0]["message"] == "bad \xef\xbf\xbd byte");
}
