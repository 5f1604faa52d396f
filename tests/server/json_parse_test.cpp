// parse_json builds exactly the document nlohmann's parser builds, from simdjson's reading.
#include "gateway/json_parse.hpp"

#include <catch2/catch.hpp>

#include <string>

using nlohmann::json;

namespace {

/// The same value and, for numbers, the same nlohmann type (equality alone treats 1 and 1u alike).
void check_same_as_nlohmann(const std::string& text, const gateway::json_limits& limits = {}) {
    INFO(text);
    const auto parsed = gateway::parse_json(text, limits);
    REQUIRE(parsed.document.has_value());
    const json& fast = *parsed.document;
    const json expected = json::parse(text);
    CHECK(fast == expected);
    CHECK(fast.dump() == expected.dump());
    const auto same_types = [](const json& a, const json& b, auto& self) -> bool {
        if (a.type() != b.type() || a.size() != b.size()) {
            return false;
        }
        if (a.is_object()) {
            for (auto it = a.begin(); it != a.end(); ++it) {
                if (!b.contains(it.key()) || !self(it.value(), b.at(it.key()), self)) {
                    return false;
                }
            }
        } else if (a.is_array()) {
            for (std::size_t i = 0; i < a.size(); ++i) {
                if (!self(a[i], b[i], self)) {
                    return false;
                }
            }
        }
        return true;
    };
    CHECK(same_types(fast, expected, same_types));
}

/// `depth` objects nested in one another: {"a":{"a":{}}}.
std::string nested_objects(std::size_t depth) {
    std::string text;
    for (std::size_t i = 1; i < depth; ++i) {
        text += R"({"a":)";
    }
    return text + "{}" + std::string(depth - 1, '}');
}

}  // namespace

TEST_CASE("parse_json reads frames as nlohmann does", "[protocol][json]") {
    check_same_as_nlohmann(
        R"({"type":"submit","id":"c1","name":"AllocationRequired","data":{"orderid":"o1","sku":"LAMP","qty":10}})");
    check_same_as_nlohmann(R"({"names":["Allocated","OutOfStock"],"aggregates":[],"nested":{"a":[1,[2,{"b":null}]]}})");
    check_same_as_nlohmann(R"([true,false,null,"x",{}])");
    check_same_as_nlohmann(R"("just a string")");
}

TEST_CASE("parse_json types numbers as nlohmann does", "[protocol][json]") {
    check_same_as_nlohmann(R"({"zero":0,"one":1,"minus":-1,"half":2.5,"exp":1e3,"neg_exp":-2E-2})");
    check_same_as_nlohmann(R"({"i64_min":-9223372036854775808,"i64_max":9223372036854775807})");
    check_same_as_nlohmann(R"({"u64_max":18446744073709551615})");
    check_same_as_nlohmann(R"({"beyond_64_bits":123456789012345678901234567890})");  // nlohmann: a double
}

TEST_CASE("parse_json decodes strings as nlohmann does", "[protocol][json]") {
    check_same_as_nlohmann(R"({"escapes":"a\"b\\c\/d\n\t","unicode":"\u00e9\u20ac\ud83d\ude00","raw":"héllo €"})");
    check_same_as_nlohmann(R"({"":"empty key","k":""})");
}

TEST_CASE("parse_json keeps the last of repeated keys, as nlohmann does", "[protocol][json]") {
    check_same_as_nlohmann(R"({"id":"first","id":"second"})");
    CHECK(gateway::parse_json(R"({"id":"first","id":"second"})").document->at("id") == "second");
}

TEST_CASE("parse_json reads nesting up to its limit and refuses one level more, on both parsers", "[protocol][json]") {
    // A number beyond 64 bits sends the text to nlohmann's parser; the limits must hold there too.
    for (const std::string leaf : {"1", "100000000000000000000000"}) {
        for (const std::size_t limit : {std::size_t{1}, std::size_t{5}, std::size_t{1024}}) {
            CAPTURE(leaf, limit);
            const auto at = [&](std::size_t depth) { return std::string(depth, '[') + leaf + std::string(depth, ']'); };
            const gateway::json_limits limits{.max_depth = limit};
            check_same_as_nlohmann(at(limit), limits);
            const auto deeper = gateway::parse_json(at(limit + 1), limits);
            CHECK_FALSE(deeper.document.has_value());
            CHECK(deeper.refused == gateway::parsed_json::problem::over_limit);
            CHECK_THAT(deeper.error, Catch::Contains("deeper than " + std::to_string(limit)));
            // An empty container is a level too (simdjson alone would not count it).
            const auto empty_inside = std::string(limit, '[') + "[]" + std::string(limit, ']');
            CHECK(gateway::parse_json(empty_inside, limits).refused == gateway::parsed_json::problem::over_limit);
            CHECK(gateway::parse_json(nested_objects(limit), limits).document.has_value());
            CHECK(gateway::parse_json(nested_objects(limit + 1), limits).refused ==
                  gateway::parsed_json::problem::over_limit);
        }
    }
}

TEST_CASE("parse_json refuses a string or key over its length limit, on both parsers", "[protocol][json]") {
    const gateway::json_limits limits{.max_depth = 8, .max_string_bytes = 4};
    for (const std::string big : {"", R"(,"big":100000000000000000000000)"}) {
        CAPTURE(big);
        CHECK(gateway::parse_json(R"({"abcd":"wxyz")" + big + "}", limits).document.has_value());
        for (const std::string over : {R"({"abcde":1)", R"({"a":"vwxyz")", R"({"a":["vwxyz"])"}) {
            CAPTURE(over);
            const auto parsed = gateway::parse_json(over + big + "}", limits);
            CHECK(parsed.refused == gateway::parsed_json::problem::over_limit);
            CHECK_THAT(parsed.error, Catch::Contains("longer than 4 bytes"));
        }
    }
    // Bytes after unescaping: "\u00e9" is two bytes of UTF-8.
    CHECK(gateway::parse_json(R"({"a":"\u00e9\u00e9"})", limits).document.has_value());
    CHECK_FALSE(gateway::parse_json(R"({"a":"\u00e9\u00e9\u00e9"})", limits).document.has_value());
}

TEST_CASE("parse_json refuses what is not JSON", "[protocol][json]") {
    for (const std::string text : {"", "{", R"({"a":})", "{'a':1}", "[1,]", "nul", R"({"a":1} trailing)", "\"\xff\""}) {
        INFO(text);
        const auto parsed = gateway::parse_json(text);
        CHECK_FALSE(parsed.document.has_value());
        CHECK(parsed.refused == gateway::parsed_json::problem::not_json);
    }
}

TEST_CASE("a document from parse_json names a field's path in errors", "[protocol][json]") {
    const auto document = gateway::parse_json(R"({"data":{"qty":"ten"}})").document;
    REQUIRE(document.has_value());
    CHECK_THROWS_WITH(document->at("data").at("qty").get<int>(), Catch::Contains("(/data/qty)"));
}
