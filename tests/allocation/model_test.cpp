// The domain model alone (the book's test_product.py / test_batches.py).
#include <allocation/errors.hpp>
#include <allocation/messages.hpp>
#include <allocation/model.hpp>

#include <catch2/catch.hpp>

using namespace allocation;
using namespace std::chrono_literals;
using std::chrono::year_month_day;

namespace {

constexpr year_month_day today{2024y, std::chrono::May, 1d};
constexpr year_month_day tomorrow{2024y, std::chrono::May, 2d};
constexpr year_month_day later{2024y, std::chrono::June, 1d};

template <class E>
[[nodiscard]] std::vector<E> events_of(const product& p) {
    std::vector<E> found;
    for (const auto& evt : p.events()) {
        if (const E* typed = evt.get_if<E>()) {
            found.push_back(*typed);
        }
    }
    return found;
}

}  // namespace

TEST_CASE("allocating to a batch reduces its available quantity", "[allocation][model]") {
    batch b{"batch-001", "SMALL-TABLE", 20, today};
    b.allocate({"order-ref", "SMALL-TABLE", 2});
    CHECK(b.available_quantity() == 18);
    CHECK(b.allocated_quantity() == 2);
}

TEST_CASE("a batch takes a line of its SKU that fits", "[allocation][model]") {
    const batch b{"batch-001", "ELEGANT-LAMP", 2};
    CHECK(b.can_allocate({"o1", "ELEGANT-LAMP", 2}));
    CHECK_FALSE(b.can_allocate({"o1", "ELEGANT-LAMP", 3}));
    CHECK_FALSE(b.can_allocate({"o1", "UNCOMFORTABLE-CHAIR", 1}));
}

TEST_CASE("in-stock batches are preferred to shipments, then the earliest ETA", "[allocation][model]") {
    product p{"RETRO-CLOCK"};
    p.add_batch({"later", "RETRO-CLOCK", 100, later});
    p.add_batch({"in-stock", "RETRO-CLOCK", 100});
    p.add_batch({"tomorrow", "RETRO-CLOCK", 100, tomorrow});
    CHECK(p.allocate({"o1", "RETRO-CLOCK", 10}) == "in-stock");
    CHECK(p.find_batch("in-stock")->available_quantity() == 90);
    CHECK(p.find_batch("tomorrow")->available_quantity() == 100);

    product shipments{"MINIMALIST-SPOON"};
    shipments.add_batch({"later", "MINIMALIST-SPOON", 100, later});
    shipments.add_batch({"tomorrow", "MINIMALIST-SPOON", 100, tomorrow});
    CHECK(shipments.allocate({"o1", "MINIMALIST-SPOON", 10}) == "tomorrow");
}

TEST_CASE("allocation skips batches that cannot take the line", "[allocation][model]") {
    product p{"LAMP"};
    p.add_batch({"small-in-stock", "LAMP", 5});
    p.add_batch({"big-shipment", "LAMP", 50, tomorrow});
    CHECK(p.allocate({"o1", "LAMP", 10}) == "big-shipment");
}

TEST_CASE("allocation records Allocated and increments the version", "[allocation][model]") {
    product p{"CHAIR", {}, 7};
    p.add_batch({"b1", "CHAIR", 10});
    CHECK(p.allocate({"o1", "CHAIR", 3}) == "b1");
    CHECK(p.version_number() == 8);
    CHECK(events_of<allocated>(p) == std::vector{allocated{"o1", "CHAIR", 3, "b1"}});
}

TEST_CASE("out of stock records OutOfStock and changes nothing", "[allocation][model]") {
    product p{"SMALL-FORK"};
    p.add_batch({"b1", "SMALL-FORK", 10, today});
    REQUIRE(p.allocate({"o1", "SMALL-FORK", 10}) == "b1");
    CHECK_FALSE(p.allocate({"o2", "SMALL-FORK", 1}).has_value());
    CHECK(events_of<out_of_stock>(p) == std::vector{out_of_stock{"SMALL-FORK"}});
    CHECK(p.version_number() == 1);
}

TEST_CASE("a line is never allocated twice", "[allocation][model]") {
    product p{"DESK"};
    p.add_batch({"b1", "DESK", 3});
    p.add_batch({"b2", "DESK", 10, later});
    REQUIRE(p.allocate({"o1", "DESK", 2}) == "b1");
    const auto version = p.version_number();
    CHECK(p.allocate({"o1", "DESK", 2}) == "b1");  // the same line again: same batch, nothing new
    CHECK(p.find_batch("b1")->allocated_quantity() == 2);
    CHECK(p.find_batch("b2")->allocated_quantity() == 0);
    CHECK(p.version_number() == version);
    CHECK(events_of<allocated>(p).size() == 1);
    CHECK_THROWS_AS(p.allocate({"o1", "DESK", 5}), conflicting_line);
}

TEST_CASE("shrinking a batch deallocates its most recent lines until it fits", "[allocation][model]") {
    product p{"RUG"};
    p.add_batch({"b1", "RUG", 20});
    REQUIRE(p.allocate({"o1", "RUG", 10}) == "b1");
    REQUIRE(p.allocate({"o2", "RUG", 6}) == "b1");
    REQUIRE(p.allocate({"o3", "RUG", 4}) == "b1");
    p.change_batch_quantity("b1", 12);
    const auto& b1 = *p.find_batch("b1");
    CHECK(b1.purchased_quantity() == 12);
    CHECK(b1.allocated_quantity() == 10);
    CHECK(events_of<deallocated>(p) == std::vector{deallocated{"o3", "RUG", 4}, deallocated{"o2", "RUG", 6}});
    CHECK_THROWS_WITH(p.change_batch_quantity("nope", 1), "Invalid batch reference nope");
}

TEST_CASE("a product refuses a second batch with the same reference", "[allocation][model]") {
    product p{"BED"};
    p.add_batch({"b1", "BED", 1});
    CHECK_THROWS_AS(p.add_batch({"b1", "BED", 2}), duplicate_batch);
    CHECK_THROWS_AS(p.add_batch({"b2", "SOFA", 2}), std::invalid_argument);
}
