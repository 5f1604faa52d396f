// Wire names and JSON of the allocation messages: round trips, and errors that name the field.
#include "support.hpp"

#include <allocation/date.hpp>
#include <cascade/registry.hpp>

#include <catch2/catch.hpp>

using namespace allocation;
using nlohmann::json;

namespace {

template <class M>
[[nodiscard]] M round_trip(const M& msg) {
    return json::parse(json(msg).dump()).get<M>();
}

/// The message of the decode error for `data` sent as `name`, through the bus's registry.
[[nodiscard]] std::string decode_error_of(const cascade::message_registry& registry, std::string_view name,
                                          const json& data) {
    try {
        static_cast<void>(registry.decode(name, data));
    } catch (const cascade::decode_error& e) {
        CHECK(e.code() == cascade::decode_errc::invalid_data);
        return e.what();
    }
    FAIL("decoding succeeded");
    return {};
}

}  // namespace

TEST_CASE("allocation messages keep their wire names, kinds and lanes", "[allocation][messages]") {
    CHECK(batch_created::name == "BatchCreated");
    CHECK(allocation_required::name == "AllocationRequired");
    CHECK(batch_quantity_changed::name == "BatchQuantityChanged");
    CHECK(allocated::name == "Allocated");
    CHECK(deallocated::name == "Deallocated");
    CHECK(out_of_stock::name == "OutOfStock");
    CHECK(batch_quantity_changed{"b1", "SKU", 1}.aggregate() == "SKU");  // the product's lane, not the batch's
    CHECK(allocated{"o1", "SKU", 1, "b1"}.aggregate() == "SKU");
}

TEST_CASE("allocation messages round-trip through JSON", "[allocation][messages]") {
    const batch_created with_eta{
        "b1", "SKU", 5, std::chrono::year_month_day{std::chrono::year{2025}, std::chrono::March, std::chrono::day{9}}};
    CHECK(json(with_eta) == json::parse(R"({"ref":"b1","sku":"SKU","qty":5,"eta":"2025-03-09"})"));
    CHECK(round_trip(with_eta) == with_eta);
    const batch_created in_stock{"b2", "SKU", 5, std::nullopt};
    CHECK(json(in_stock)["eta"].is_null());
    CHECK(round_trip(in_stock) == in_stock);
    CHECK(json::parse(R"({"ref":"b2","sku":"SKU","qty":5})").get<batch_created>() == in_stock);  // eta absent
    CHECK(round_trip(allocation_required{"o1", "SKU", 3}) == allocation_required{"o1", "SKU", 3});
    CHECK(round_trip(batch_quantity_changed{"b1", "SKU", 0}) == batch_quantity_changed{"b1", "SKU", 0});
    CHECK(round_trip(allocated{"o1", "SKU", 3, "b1"}) == allocated{"o1", "SKU", 3, "b1"});
    CHECK(round_trip(deallocated{"o1", "SKU", 3}) == deallocated{"o1", "SKU", 3});
    CHECK(round_trip(out_of_stock{"SKU"}) == out_of_stock{"SKU"});
}

TEST_CASE("missing, mistyped and invalid fields are named", "[allocation][messages]") {
    CHECK_THROWS_WITH(json::parse(R"({"orderid":"o1","sku":"S"})").get<allocation_required>(),
                      Catch::Contains("'qty'"));
    CHECK_THROWS_WITH(json::parse(R"({"orderid":"o1","sku":"S","qty":"2"})").get<allocation_required>(),
                      Catch::Contains("(/qty) type must be integer"));
    CHECK_THROWS_WITH(json::parse(R"({"orderid":"o1","sku":"S","qty":2.5})").get<allocation_required>(),
                      Catch::Contains("(/qty) type must be integer"));
    CHECK_THROWS_WITH(json::parse(R"({"orderid":"o1","sku":"S","qty":0})").get<allocation_required>(),
                      Catch::Contains("(/qty) must be an integer from 1"));
    CHECK_THROWS_WITH(json::parse(R"({"orderid":"o1","sku":"S","qty":-3})").get<allocation_required>(),
                      Catch::Contains("(/qty)") && Catch::Contains("but is -3"));
    CHECK_THROWS_WITH(json::parse(R"({"orderid":"o1","sku":"S","qty":9999999999})").get<allocation_required>(),
                      Catch::Contains("(/qty)"));
    CHECK_THROWS_WITH(json::parse(R"({"orderid":"","sku":"S","qty":1})").get<allocation_required>(),
                      Catch::Contains("(/orderid) must not be empty"));
    CHECK_THROWS_WITH(json::parse(R"({"ref":"b","sku":"S","qty":1,"eta":"2024-02-30"})").get<batch_created>(),
                      Catch::Contains("(/eta) must be a date YYYY-MM-DD"));
    CHECK_THROWS_WITH(json::parse(R"({"ref":"b","sku":"S","qty":1,"eta":"tomorrow"})").get<batch_created>(),
                      Catch::Contains("(/eta)"));
    CHECK_THROWS_WITH(json::parse(R"({"ref":"b","sku":"S","qty":1,"eta":20240101})").get<batch_created>(),
                      Catch::Contains("(/eta) type must be string"));
    CHECK_THROWS_WITH(json::parse(R"({"ref":"b","qty":1})").get<batch_quantity_changed>(), Catch::Contains("'sku'"));
    CHECK_NOTHROW(json::parse(R"({"ref":"b","sku":"S","qty":0})").get<batch_quantity_changed>());
}

TEST_CASE("the bus decodes allocation messages and reports invalid data by field", "[allocation][messages]") {
    alloc_test::service<alloc_test::memory_factory> svc;
    const auto& registry = svc.bus.registry();
    const auto msg = registry.decode("AllocationRequired", json::parse(R"({"orderid":"o1","sku":"S","qty":2})"));
    REQUIRE(msg.get_if<allocation_required>() != nullptr);
    CHECK(*msg.get_if<allocation_required>() == allocation_required{"o1", "S", 2});
    CHECK(msg.aggregate() == "S");
    CHECK_THAT(decode_error_of(registry, "AllocationRequired", json::parse(R"({"orderid":"o1","sku":"S","qty":"x"})")),
               Catch::Contains("qty"));
    CHECK_THAT(decode_error_of(registry, "BatchCreated", json::parse(R"({"ref":"b","sku":"S","qty":1,"eta":"x"})")),
               Catch::Contains("eta"));
    CHECK_THAT(decode_error_of(registry, "BatchQuantityChanged", json::parse(R"({"ref":"b","qty":1})")),
               Catch::Contains("sku"));
}

TEST_CASE("dates are read and written as YYYY-MM-DD", "[allocation][messages]") {
    const auto date = parse_date("2024-02-29");
    REQUIRE(date.has_value());
    CHECK(format_date(*date) == "2024-02-29");
    CHECK_FALSE(parse_date("2023-02-29").has_value());
    CHECK_FALSE(parse_date("2024-13-01").has_value());
    CHECK_FALSE(parse_date("2024-01-01T10:00").has_value());
    CHECK_FALSE(parse_date("").has_value());
    // Only what the schema's pattern allows: four, two and two digits.
    CHECK_FALSE(parse_date("2026-1-5").has_value());
    CHECK_FALSE(parse_date("2026-01-5 ").has_value());
    CHECK_FALSE(parse_date("+026-01-05").has_value());
    CHECK_FALSE(parse_date("2026-+1-05").has_value());
    CHECK_FALSE(parse_date(" 2026-01-0").has_value());
    CHECK_FALSE(parse_date("2026/01/05").has_value());
    CHECK(parse_date("0001-01-01").has_value());
    CHECK(parse_date("9999-12-31").has_value());
}
