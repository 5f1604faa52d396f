#include "test_domain.hpp"

#include <cascade/journal.hpp>
#include <cascade/registry.hpp>

#include <catch2/catch.hpp>

using namespace test_domain;
using cascade::decode_errc;
using cascade::decode_error;

static_assert(cascade::command<double_it>);
static_assert(cascade::event<noted>);
static_assert(!cascade::message<int>);

namespace {
struct not_a_message {
    std::string key;
};
}  // namespace
static_assert(!cascade::message<not_a_message>);

TEST_CASE("any_message keeps the typed message and its descriptor", "[message]") {
    const cascade::any_message msg{double_it{.key = "k1", .value = 21, .raise = 0}};
    CHECK(msg.name() == "DoubleIt");
    CHECK(msg.kind() == message_kind::command);
    CHECK(msg.aggregate() == "k1");
    REQUIRE(msg.get_if<double_it>() != nullptr);
    CHECK(msg.get_if<double_it>()->value == 21);
    CHECK(msg.get_if<noted>() == nullptr);
    CHECK(msg.data() == nlohmann::json{{"key", "k1"}, {"value", 21}, {"raise", 0}});
}

TEST_CASE("message types get distinct dense indexes", "[message]") {
    const auto& a = cascade::message_type_of<double_it>();
    const auto& b = cascade::message_type_of<noted>();
    CHECK(a.index != b.index);
    CHECK(&a == &cascade::message_type_of<double_it>());
}

TEST_CASE("the registry decodes JSON from the edge into typed messages", "[registry]") {
    cascade::message_registry registry;
    registry.add<double_it>();
    registry.add<noted>();
    registry.add<noted>();  // twice is harmless

    SECTION("a known name and valid data") {
        const auto msg = registry.decode("Noted", {{"key", "a"}, {"seq", 3}});
        REQUIRE(msg.get_if<noted>() != nullptr);
        CHECK(msg.get_if<noted>()->seq == 3);
    }
    SECTION("an unknown name is named in the error") {
        try {
            (void)registry.decode("Nope", nlohmann::json::object());
            FAIL("decode accepted an unknown name");
        } catch (const decode_error& e) {
            CHECK(e.code() == decode_errc::unknown_message);
            CHECK_THAT(e.what(), Catch::Contains("Nope"));
        }
    }
    SECTION("a missing field is named in the error") {
        try {
            (void)registry.decode("DoubleIt", {{"key", "a"}, {"value", 1}});
            FAIL("decode accepted a missing field");
        } catch (const decode_error& e) {
            CHECK(e.code() == decode_errc::invalid_data);
            CHECK_THAT(e.what(), Catch::Contains("'raise'") && Catch::Contains("not found"));
            CHECK_THAT(e.what(), !Catch::Contains("json.exception"));
        }
    }
    SECTION("a field of the wrong type is named in the error") {
        try {
            (void)registry.decode("DoubleIt", {{"key", "a"}, {"value", "ten"}, {"raise", 0}});
            FAIL("decode accepted a mistyped field");
        } catch (const decode_error& e) {
            CHECK(e.code() == decode_errc::invalid_data);
            CHECK_THAT(e.what(), Catch::Contains("/value") && Catch::Contains("must be number"));
        }
    }
    SECTION("data that is not an object is refused") {
        CHECK_THROWS_AS(registry.decode("Noted", nlohmann::json::array()), decode_error);
    }
    CHECK(registry.find("DoubleIt") == &cascade::message_type_of<double_it>());
    CHECK(registry.names().size() == 2);
}

namespace {
/// An event that outside systems may report (say, from a payment provider).
struct paid {
    static constexpr std::string_view name = "Paid";
    static constexpr message_kind kind = message_kind::event;
    static constexpr bool from_edge = true;
    std::string key;
    [[nodiscard]] std::string_view aggregate() const noexcept { return key; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(paid, key)

/// A command only handlers send (a process manager's step, say).
struct rebalance {
    static constexpr std::string_view name = "Rebalance";
    static constexpr message_kind kind = message_kind::command;
    static constexpr bool from_edge = false;
    std::string key;
    [[nodiscard]] std::string_view aggregate() const noexcept { return key; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(rebalance, key)
}  // namespace

static_assert(cascade::accepted_from_edge<double_it>() && !cascade::accepted_from_edge<noted>());
static_assert(cascade::accepted_from_edge<paid>() && !cascade::accepted_from_edge<rebalance>());

TEST_CASE("from the edge, only the types accepted from it decode", "[registry]") {
    cascade::message_registry registry;
    registry.add<double_it>();
    registry.add<noted>();
    registry.add<paid>();
    registry.add<rebalance>();
    const nlohmann::json data{{"key", "a"}, {"value", 1}, {"raise", 0}, {"seq", 1}};

    CHECK(registry.decode_from_edge("DoubleIt", data).get_if<double_it>() != nullptr);
    CHECK(registry.decode_from_edge("Paid", data).get_if<paid>() != nullptr);
    for (const auto* refused : {"Noted", "Rebalance"}) {
        try {
            (void)registry.decode_from_edge(refused, data);
            FAIL(refused << " was accepted from the edge");
        } catch (const decode_error& e) {
            CHECK(e.code() == decode_errc::not_from_edge);
            CHECK_THAT(e.what(), Catch::Contains(refused));
        }
        CHECK(registry.decode(refused, data).name() == refused);  // inside the bus (recovery) it decodes
    }
    SECTION("the refusal comes before the data is read") {
        try {
            (void)registry.decode_from_edge("Noted", nlohmann::json::array());
            FAIL("accepted");
        } catch (const decode_error& e) {
            CHECK(e.code() == decode_errc::not_from_edge);
        }
    }
    SECTION("an unknown name is still unknown") {
        try {
            (void)registry.decode_from_edge("Nope", data);
            FAIL("accepted");
        } catch (const decode_error& e) {
            CHECK(e.code() == decode_errc::unknown_message);
        }
    }
}

TEST_CASE("two types under one wire name are refused", "[registry]") {
    // Another descriptor under Noted's wire name, as a second type would bring.
    const cascade::message_type fake{.name = "Noted",
                                     .kind = message_kind::event,
                                     .from_edge = false,
                                     .index = 9999,
                                     .aggregate_of = nullptr,
                                     .to_json = nullptr,
                                     .from_json = nullptr};
    cascade::message_registry registry;
    registry.add<noted>();
    CHECK_THROWS_AS(registry.add(fake), std::logic_error);
}

TEST_CASE("an envelope's wire form carries its metadata and data", "[envelope]") {
    const cascade::envelope env{.id = 7,
                                .causation_id = 5,
                                .correlation_id = 1,
                                .depth = 2,
                                .timestamp = {},
                                .message = cascade::any_message{noted{.key = "k", .seq = 1}}};
    const auto j = cascade::to_json(env);
    CHECK(j.at("id") == "7");
    CHECK(j.at("name") == "Noted");
    CHECK(j.at("aggregate") == "k");
    CHECK(j.at("causation_id") == "5");
    CHECK(j.at("correlation_id") == "1");
    CHECK(j.at("depth") == 2);
    CHECK(j.at("data").at("seq") == 1);
}

TEST_CASE("an envelope's principal is on the wire only when known, and reads back from it", "[envelope][principal]") {
    cascade::message_registry registry;
    registry.add<noted>();
    cascade::envelope env{.id = 7,
                          .causation_id = 5,
                          .correlation_id = 1,
                          .depth = 2,
                          .timestamp = std::chrono::system_clock::time_point{std::chrono::milliseconds{1'234}},
                          .message = cascade::any_message{noted{.key = "k", .seq = 1}}};
    CHECK_FALSE(cascade::to_json(env).contains("principal"));
    CHECK(cascade::envelope_from_json(cascade::to_json(env), registry).principal.empty());

    env.principal = "auth0|alice";
    const auto wire = cascade::to_json(env);
    CHECK(wire.at("principal") == "auth0|alice");
    const auto back = cascade::envelope_from_json(wire, registry);
    CHECK(back.principal == "auth0|alice");
    CHECK(back.id == 7);
    CHECK(back.correlation_id == 1);
    CHECK(cascade::to_json(back) == wire);
}

TEST_CASE("services hold replaceable dependencies", "[services]") {
    struct clock_like {
        virtual ~clock_like() = default;
        [[nodiscard]] virtual int now() const { return 1; }
    };
    struct fake_clock : clock_like {
        [[nodiscard]] int now() const override { return 42; }
    };
    cascade::services services;
    CHECK(services.find<clock_like>() == nullptr);
    CHECK_THROWS_WITH(services.get<clock_like>(), Catch::Contains("clock_like"));
    services.emplace<clock_like>();
    CHECK(services.get<clock_like>().now() == 1);
    services.provide<clock_like>(std::make_shared<fake_clock>());
    CHECK(services.get<clock_like>().now() == 42);
}

TEST_CASE("a context raises events, refuses commands, and collects its sources", "[context]") {
    const cascade::envelope env{.id = 1, .message = cascade::any_message{noted{.key = "k"}}};
    const cascade::services services;
    cascade::context ctx{env, services, 1};
    ctx.raise(noted{.key = "a", .seq = 1});
    CHECK_THROWS_AS(ctx.raise(cascade::any_message{double_it{}}), std::invalid_argument);
    ctx.add_event_source(
        [] { return std::vector<cascade::any_message>{cascade::any_message{noted{.key = "b", .seq = 2}}}; });
    const auto raised = ctx.take_raised();
    REQUIRE(raised.size() == 2);
    CHECK(raised[0].get_if<noted>()->key == "a");
    CHECK(raised[1].get_if<noted>()->key == "b");
    CHECK(ctx.take_raised().empty());
}
