// Messages that describe their fields: JSON both ways, the errors that name a field, the JSON
// Schema, and what the catalog tells about a message that does not describe them.
#include <cascade/bus.hpp>
#include <cascade/fields.hpp>
#include <cascade/message.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <tuple>

using nlohmann::json;

namespace {

struct reading_taken {
    static constexpr std::string_view name = "ReadingTaken";
    static constexpr cascade::message_kind kind = cascade::message_kind::event;
    std::string sensor;
    std::string label;
    std::uint16_t channel{};
    double value{};
    bool calibrated{};
    std::optional<std::int64_t> sequence;
    [[nodiscard]] std::string_view aggregate() const noexcept { return sensor; }
    friend bool operator==(const reading_taken&, const reading_taken&) = default;
    static constexpr auto fields() {
        return std::tuple{cascade::field{"sensor", &reading_taken::sensor, cascade::aggregate_key},
                          cascade::field{"label", &reading_taken::label, {.min_length = 3}},
                          cascade::field{"channel", &reading_taken::channel, cascade::at_least(1)},
                          cascade::field{"value", &reading_taken::value},
                          cascade::field{"calibrated", &reading_taken::calibrated},
                          cascade::field{"sequence", &reading_taken::sequence}};
    }
};

/// A message with hand-written conversions: the catalog knows nothing of its fields.
struct ping_sent {
    static constexpr std::string_view name = "PingSent";
    static constexpr cascade::message_kind kind = cascade::message_kind::command;
    std::string target;
    [[nodiscard]] std::string_view aggregate() const noexcept { return target; }
};
void to_json(json& j, const ping_sent& m) {
    j = json{{"target", m.target}};
}
void from_json(const json& j, ping_sent& m) {
    m.target = j.at("target").get<std::string>();
}

static_assert(cascade::described<reading_taken> && !cascade::described<ping_sent>);
static_assert(cascade::message<reading_taken>);
static_assert(cascade::aggregate_field<reading_taken>() == "sensor");

const json valid =
    json::parse(R"({"sensor":"s1","label":"épée","channel":3,"value":2.5,"calibrated":true,"sequence":null})");

[[nodiscard]] json with(std::string_view key, json value) {
    auto data = valid;
    data[std::string{key}] = std::move(value);
    return data;
}

}  // namespace

TEST_CASE("a described message converts both ways through its fields", "[fields]") {
    const auto reading = valid.get<reading_taken>();
    CHECK(reading == reading_taken{"s1", "épée", 3, 2.5, true, std::nullopt});
    CHECK(json(reading) == valid);  // an absent optional is written as null
    auto numbered = reading;
    numbered.sequence = -4;
    CHECK(json(numbered)["sequence"] == -4);
    CHECK(json(numbered).get<reading_taken>() == numbered);
    auto absent = valid;
    absent.erase("sequence");
    CHECK(absent.get<reading_taken>() == reading);
    CHECK(with("extra", 1).get<reading_taken>() == reading);  // keys it does not declare are ignored
}

TEST_CASE("a described message's errors name the field and what is wrong", "[fields]") {
    auto missing = valid;
    missing.erase("channel");
    CHECK_THROWS_WITH(missing.get<reading_taken>(), Catch::Contains("key 'channel' not found"));
    CHECK_THROWS_WITH(with("channel", "3").get<reading_taken>(),
                      Catch::Contains("(/channel) type must be integer, but is string"));
    CHECK_THROWS_WITH(with("channel", 1.5).get<reading_taken>(), Catch::Contains("(/channel) type must be integer"));
    CHECK_THROWS_WITH(with("channel", 0).get<reading_taken>(),
                      Catch::Contains("(/channel) must be an integer from 1 to 65535, but is 0"));
    CHECK_THROWS_WITH(with("channel", 65536).get<reading_taken>(), Catch::Contains("(/channel)"));
    CHECK_NOTHROW(with("channel", 65535).get<reading_taken>());
    CHECK_THROWS_WITH(with("sensor", "").get<reading_taken>(), Catch::Contains("(/sensor) must not be empty"));
    // min_length counts characters, not bytes: "éé" is two (four bytes).
    CHECK_THROWS_WITH(with("label", "éé").get<reading_taken>(),
                      Catch::Contains("(/label) must have at least 3 characters"));
    CHECK_THROWS_WITH(with("value", "2.5").get<reading_taken>(), Catch::Contains("(/value) type must be number"));
    CHECK_THROWS_WITH(with("calibrated", 1).get<reading_taken>(),
                      Catch::Contains("(/calibrated) type must be boolean"));
    CHECK_THROWS_WITH(with("sequence", "1").get<reading_taken>(), Catch::Contains("(/sequence) type must be integer"));
    CHECK_THROWS_WITH(with("sensor", nullptr).get<reading_taken>(), Catch::Contains("(/sensor) type must be string"));
    CHECK_THROWS(json::array().get<reading_taken>());
}

TEST_CASE("a described message's schema states its types, rules and required fields", "[fields]") {
    const auto schema = cascade::data_schema<reading_taken>();
    CHECK(schema["type"] == "object");
    CHECK(schema["required"] == json::parse(R"(["sensor","label","channel","value","calibrated"])"));
    const auto& properties = schema["properties"];
    CHECK(properties["sensor"] == json::parse(R"({"type":"string","minLength":1})"));
    CHECK(properties["label"] == json::parse(R"({"type":"string","minLength":3})"));
    CHECK(properties["channel"] == json::parse(R"({"type":"integer","minimum":1,"maximum":65535})"));
    CHECK(properties["value"] == json::parse(R"({"type":"number"})"));
    CHECK(properties["calibrated"] == json::parse(R"({"type":"boolean"})"));
    CHECK(properties["sequence"]["type"] == json::parse(R"(["integer","null"])"));
    CHECK(properties["sequence"]["minimum"] == std::numeric_limits<std::int64_t>::min());
}

TEST_CASE("the bus's catalog lists each type with its handlers, described or not", "[fields]") {
    cascade::bus bus{{.threads = 1}};
    bus.declare<reading_taken>();
    bus.handle<ping_sent>("ping",
                          [](const ping_sent&, cascade::context&) -> boost::asio::awaitable<void> { co_return; });
    const auto catalog = bus.catalog();
    REQUIRE(catalog.size() == 2);
    const auto& ping = catalog[0];  // by wire name
    CHECK(ping.type->name == "PingSent");
    CHECK(ping.handlers == std::vector<std::string>{"ping"});
    CHECK(ping.type->aggregate_field.empty());
    CHECK(ping.type->schema() == json{{"type", "object"}});
    const auto& reading = catalog[1];
    CHECK(reading.type->name == "ReadingTaken");
    CHECK(reading.handlers.empty());
    CHECK(reading.type->aggregate_field == "sensor");
    CHECK(reading.type->schema() == cascade::data_schema<reading_taken>());
}
