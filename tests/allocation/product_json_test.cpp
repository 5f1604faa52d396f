#include <allocation/errors.hpp>
#include <allocation/product_json.hpp>

#include <catch2/catch.hpp>

using namespace allocation;

namespace {

constexpr std::chrono::year_month_day someday{std::chrono::year{2026}, std::chrono::December, std::chrono::day{24}};

}  // namespace

TEST_CASE("a product travels as one JSON document and back, lines and all", "[allocation][product_json]") {
    product original{"LAMP", {batch{"b1", "LAMP", 10}, batch{"b2", "LAMP", 5, someday}}, 3};
    REQUIRE(original.allocate({"o1", "LAMP", 4}) == "b1");
    REQUIRE(original.allocate({"o2", "LAMP", 6}) == "b1");
    REQUIRE(original.allocate({"o3", "LAMP", 2}) == "b2");

    const auto copy = decode_product(encode_product(original));
    CHECK(copy.sku() == "LAMP");
    CHECK(copy.version_number() == original.version_number());
    REQUIRE(copy.batches().size() == 2);
    CHECK(copy.batches()[0].reference() == "b1");
    CHECK_FALSE(copy.batches()[0].eta().has_value());
    CHECK(copy.batches()[0].allocated_quantity() == 10);
    CHECK(copy.batches()[0].allocations().lines() == std::vector<order_line>{{"o1", "LAMP", 4}, {"o2", "LAMP", 6}});
    CHECK(copy.batches()[1].eta() == someday);
    CHECK(copy.batches()[1].purchased_quantity() == 5);
    CHECK(copy.batches()[1].available_quantity() == 3);
    CHECK(copy.events().empty());  // events are not state: they were taken when it was stored
}

TEST_CASE("a document that is not a product is refused", "[allocation][product_json]") {
    CHECK_THROWS_AS(decode_product("[]"), std::invalid_argument);
    CHECK_THROWS_AS(decode_product("{"), std::invalid_argument);
    CHECK_THROWS_AS(decode_product(R"({"sku":"X","version":0,"batches":[{"reference":"b","purchased":1,)"
                                   R"("eta":"2026-13-01","lines":[]}]})"),
                    std::invalid_argument);
}
