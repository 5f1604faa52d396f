#include "cluster/cascade_tally.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <string>
#include <utility>
#include <vector>

using cluster::cascade_tally;
using cluster::raised_id;

TEST_CASE("raised events' ids derive from their parent's", "[cluster][tally]") {
    CHECK(raised_id("order-1", 1) == "order-1.1");
    CHECK(raised_id(raised_id("order-1", 2), 1) == "order-1.2.1");
}

TEST_CASE("a cascade of one message is done when that message is reported", "[cluster][tally]") {
    cascade_tally tally{"root"};
    CHECK_FALSE(tally.done());
    CHECK(tally.report("root", 0));
    CHECK(tally.done());
}

TEST_CASE("a cascade is done only when every raised event is reported", "[cluster][tally]") {
    cascade_tally tally{"root"};
    CHECK(tally.report("root", 2));
    CHECK(tally.pending() == 2);
    CHECK(tally.report("root.1", 1));
    CHECK_FALSE(tally.done());
    CHECK(tally.report("root.2", 0));
    CHECK_FALSE(tally.done());  // root.1.1 is still to handle
    CHECK(tally.report("root.1.1", 0));
    CHECK(tally.done());
}

TEST_CASE("a report that comes again changes nothing", "[cluster][tally]") {
    cascade_tally tally{"root"};
    CHECK(tally.report("root", 1));
    CHECK_FALSE(tally.report("root", 1));  // a redelivered root, handled again
    CHECK(tally.pending() == 1);
    CHECK(tally.report("root.1", 0));
    CHECK_FALSE(tally.report("root.1", 0));
    CHECK(tally.done());
}

TEST_CASE("an event reported before its parent is not counted again", "[cluster][tally]") {
    cascade_tally tally{"root"};
    CHECK(tally.report("root.1", 0));  // handled elsewhere, and its report travelled faster
    CHECK_FALSE(tally.done());         // the root itself is not reported yet
    CHECK(tally.report("root", 1));
    CHECK(tally.done());
}

TEST_CASE("a cascade is done exactly at its last report, in any order and with duplicates", "[cluster][tally]") {
    // A tree: root raises 3, each of those raises 2, each of those raises 1.
    std::vector<std::pair<std::string, std::size_t>> reports{{"root", 3}};
    for (std::size_t a = 1; a <= 3; ++a) {
        const auto child = raised_id("root", a);
        reports.emplace_back(child, 2);
        for (std::size_t b = 1; b <= 2; ++b) {
            const auto grandchild = raised_id(child, b);
            reports.emplace_back(grandchild, 1);
            reports.emplace_back(raised_id(grandchild, 1), 0);
        }
    }
    const auto messages = reports.size();
    std::mt19937 random{42};
    for (int round = 0; round < 200; ++round) {
        auto shuffled = reports;
        shuffled.insert(shuffled.end(), reports.begin(), reports.begin() + 5);  // some come twice
        std::ranges::shuffle(shuffled, random);
        cascade_tally tally{"root"};
        std::size_t fresh = 0;
        for (const auto& [id, raised] : shuffled) {
            fresh += tally.report(id, raised) ? 1 : 0;
            REQUIRE(tally.done() == (fresh == messages));
        }
    }
}
