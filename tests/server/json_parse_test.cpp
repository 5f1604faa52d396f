// parse_json builds exactly the document nlohmann's parser builds, from simdjson's reading.
#include "json_parse.hpp"

#include <catch2/catch.hpp>

#include <string>

using nlohmann::json;

namespace {

/// The same value and, for numbers, the same nlohmann type (equality alone treats 1 and 1u alike).
void check_same_as_nlohmann(const std::string& text) {
    INFO(text);
    const auto fast = gateway::parse_json(text);
    REQUIRE(fast.has_value());
    const json expected = json::parse(text);
    CHECK(*fast == expected);
    CHECK(fast->dump() == expected.dump());
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
    CHECK(same_types(*fast, expected, same_types));
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
    CHECK(gateway::parse_json(R"({"id":"first","id":"second"})")->at("id") == "second");
}

TEST_CASE("parse_json reads nesting deeper than simdjson's limit", "[protocol][json]") {
    const std::string deep = std::string(2000, '[') + std::string(2000, ']');
    check_same_as_nlohmann(deep);
}

TEST_CASE("parse_json refuses what is not JSON", "[protocol][json]") {
    for (const std::string text : {"", "{", R"({"a":})", "{'a':1}", "[1,]", "nul", R"({"a":1} trailing)", "\"\xff\""}) {
        INFO(text);
        CHECK_FALSE(gateway::parse_json(text).has_value());
    }
}

TEST_CASE("a document from parse_json names a field's path in errors", "[protocol][json]") {
    const auto document = gateway::parse_json(R"({"data":{"qty":"ten"}})");
    REQUIRE(document.has_value());
    CHECK_THROWS_WITH(document->at("data").at("qty").get<int>(), Catch::Contains("(/data/qty)"));
}
