// The persistent list of a batch's lines: copies share lines, and each copy changes alone.
#include <allocation/allocation_list.hpp>
#include <allocation/model.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace allocation;

namespace {

order_line line(const std::string& orderid, int qty = 1) {
    return {orderid, "LAMP", qty};
}

}  // namespace

TEST_CASE("an allocation list keeps its lines oldest first", "[allocation][list]") {
    allocation_list list{{line("o1"), line("o2")}};
    list.push_back(line("o3", 3));
    CHECK(list.size() == 3);
    CHECK(list.back() == line("o3", 3));
    CHECK(list.lines() == std::vector{line("o1"), line("o2"), line("o3", 3)});
    list.pop_back();
    CHECK(list.lines() == std::vector{line("o1"), line("o2")});
    CHECK_FALSE(list.empty());
}

TEST_CASE("an allocation list finds a line by its order", "[allocation][list]") {
    const allocation_list list{{line("o1", 1), line("o2", 2)}};
    REQUIRE(list.find("o2") != std::nullopt);
    CHECK(list.find("o2")->qty == 2);
    CHECK(list.find("o1")->qty == 1);
    CHECK(list.find("o3") == std::nullopt);
    CHECK(allocation_list{}.find("o1") == std::nullopt);
}

TEST_CASE("copies of an allocation list change independently", "[allocation][list]") {
    const allocation_list stored{{line("o1"), line("o2")}};
    allocation_list grown = stored;
    grown.push_back(line("o3"));
    allocation_list shrunk = stored;
    shrunk.pop_back();
    shrunk.push_back(line("o4"));

    CHECK(stored.lines() == std::vector{line("o1"), line("o2")});
    CHECK(grown.lines() == std::vector{line("o1"), line("o2"), line("o3")});
    CHECK(shrunk.lines() == std::vector{line("o1"), line("o4")});
    CHECK(stored.find("o3") == std::nullopt);
    CHECK(shrunk.find("o2") == std::nullopt);
}

TEST_CASE("allocation lists compare by their lines, shared or not", "[allocation][list]") {
    const allocation_list a{{line("o1"), line("o2")}};
    const allocation_list built_apart{{line("o1"), line("o2")}};
    allocation_list other_qty{{line("o1"), line("o2", 5)}};
    allocation_list copy = a;
    CHECK(a == built_apart);
    CHECK(a == copy);
    CHECK_FALSE(a == other_qty);
    copy.push_back(line("o3"));
    CHECK_FALSE(a == copy);
    copy.pop_back();
    CHECK(a == copy);
}

TEST_CASE("a list that falls behind its copy forks when it grows", "[allocation][list]") {
    allocation_list original{{line("o1")}};
    allocation_list ahead = original;
    ahead.push_back(line("o2"));     // appends to the log both share
    original.push_back(line("o3"));  // o2 is not its line: it must not build on it
    CHECK(original.lines() == std::vector{line("o1"), line("o3")});
    CHECK(ahead.lines() == std::vector{line("o1"), line("o2")});
    CHECK(original.find("o2") == std::nullopt);
    CHECK(ahead.find("o3") == std::nullopt);
    ahead.push_back(line("o4"));
    CHECK(ahead.lines() == std::vector{line("o1"), line("o2"), line("o4")});
}

TEST_CASE("a copy keeps its lines when the list it came from is gone", "[allocation][list]") {
    constexpr int count = 10'000;
    auto list = std::make_unique<allocation_list>();
    for (int i = 0; i < count; ++i) {
        list->push_back(line("o" + std::to_string(i)));
    }
    allocation_list older_half = *list;
    for (int i = 0; i < count / 2; ++i) {
        older_half.pop_back();
    }
    list.reset();
    CHECK(older_half.size() == count / 2);
    CHECK(older_half.back().orderid == "o" + std::to_string(count / 2 - 1));
    CHECK(older_half.find("o0") != std::nullopt);
    CHECK(older_half.find("o" + std::to_string(count / 2)) == std::nullopt);
}

TEST_CASE("an allocation list gives its lines from a position on", "[allocation][list]") {
    const allocation_list list{{line("o1"), line("o2"), line("o3")}};
    CHECK(list.lines(1) == std::vector{line("o2"), line("o3")});
    CHECK(list.lines(3).empty());
    CHECK(list.lines(7).empty());
}

TEST_CASE("the common prefix of two lists counts their shared oldest lines", "[allocation][list]") {
    const allocation_list stored{{line("o1"), line("o2")}};
    allocation_list grown = stored;
    grown.push_back(line("o3"));
    CHECK(stored.common_prefix(grown) == 2);
    CHECK(grown.common_prefix(stored) == 2);

    allocation_list replaced = stored;
    replaced.pop_back();
    replaced.push_back(line("o4"));  // forks: a log of its own
    CHECK(stored.common_prefix(replaced) == 1);

    const allocation_list built_apart{{line("o1"), line("o2"), line("o5")}};
    CHECK(built_apart.common_prefix(grown) == 2);
    CHECK(allocation_list{}.common_prefix(stored) == 0);
}

TEST_CASE("a list moved from is empty and usable", "[allocation][list]") {
    allocation_list list{{line("o1"), line("o2")}};
    allocation_list taken = std::move(list);
    CHECK(taken.size() == 2);
    CHECK(list.empty());  // NOLINT(bugprone-use-after-move): the state after a move is the point
    list.push_back(line("o3"));
    CHECK(list.lines() == std::vector{line("o3")});
    CHECK(taken.lines() == std::vector{line("o1"), line("o2")});
}

TEST_CASE("an allocation list built with two lines of one order finds the older", "[allocation][list]") {
    const allocation_list list{{line("o1", 1), line("o1", 2)}};
    REQUIRE(list.find("o1") != std::nullopt);
    CHECK(list.find("o1")->qty == 1);
}

TEST_CASE("a batch copy allocates without changing the original", "[allocation][list]") {
    batch original{"b1", "LAMP", 10, std::nullopt, {line("o1", 2)}};
    batch copy = original;
    copy.allocate(line("o2", 3));
    CHECK(original.allocated_quantity() == 2);
    CHECK(original.allocations().lines() == std::vector{line("o1", 2)});
    CHECK(copy.allocated_quantity() == 5);
    CHECK(copy.find_line("o2") != std::nullopt);
    CHECK(original.find_line("o2") == std::nullopt);
    CHECK(copy.deallocate_one() == line("o2", 3));
    CHECK(copy == original);
}

namespace {

/// Lines "in a store": counts the reads, so that a test sees what a decision cost.
class counted_lines final : public stored_lines {
public:
    explicit counted_lines(std::vector<order_line> lines) : lines_{std::move(lines)} {}

    [[nodiscard]] std::size_t size() const override { return lines_.size(); }
    [[nodiscard]] std::optional<std::pair<std::size_t, order_line>> find(std::string_view orderid) const override {
        ++reads;
        for (std::size_t i = 0; i < lines_.size(); ++i) {
            if (lines_[i].orderid == orderid) {
                return std::pair{i, lines_[i]};
            }
        }
        return std::nullopt;
    }
    [[nodiscard]] std::vector<order_line> range(std::size_t first, std::size_t last) const override {
        ++reads;
        const auto begin = lines_.begin();
        return {begin + static_cast<std::ptrdiff_t>(first), begin + static_cast<std::ptrdiff_t>(last)};
    }

    mutable int reads = 0;

private:
    std::vector<order_line> lines_;
};

}  // namespace

TEST_CASE("a list of stored lines reads none of them to count, add or compare with its copy", "[allocation][list]") {
    const auto store = std::make_shared<counted_lines>(std::vector{line("o1"), line("o2"), line("o3")});
    const allocation_list loaded{store};
    allocation_list grown = loaded;
    grown.push_back(line("o4"));
    CHECK(grown.size() == 4);
    CHECK(loaded.common_prefix(grown) == 3);
    CHECK(grown.lines(3) == std::vector{line("o4")});
    CHECK(store->reads == 0);

    CHECK(grown.find("o2") == line("o2"));  // one read
    CHECK(grown.find("o4") == line("o4"));  // added here: no read
    CHECK(store->reads == 1);
    CHECK(grown.lines() == std::vector{line("o1"), line("o2"), line("o3"), line("o4")});
}

TEST_CASE("a list of stored lines releases stored lines newest first", "[allocation][list]") {
    const auto store = std::make_shared<counted_lines>(std::vector{line("o1"), line("o2"), line("o3")});
    const allocation_list loaded{store};
    allocation_list shrunk = loaded;
    shrunk.push_back(line("o4"));
    shrunk.pop_back();
    CHECK(shrunk.back() == line("o3"));
    shrunk.pop_back();
    CHECK(shrunk.back() == line("o2"));
    CHECK(shrunk.find("o3") == std::nullopt);  // released: no longer this list's
    shrunk.push_back(line("o5"));
    CHECK(shrunk.lines() == std::vector{line("o1"), line("o2"), line("o5")});
    CHECK(loaded.common_prefix(shrunk) == 2);  // what a store keeps; o3 goes, o5 is new
    CHECK(loaded.lines() == std::vector{line("o1"), line("o2"), line("o3")});
    CHECK_FALSE(loaded == shrunk);
}

TEST_CASE("a batch restored with stored lines allocates, finds and releases them", "[allocation][list]") {
    const auto store = std::make_shared<counted_lines>(std::vector{line("o1", 2), line("o2", 3)});
    batch restored{"b1", "LAMP", 10, std::nullopt, allocation_list{store}, 5};
    CHECK(restored.available_quantity() == 5);
    CHECK(restored.find_line("o2") == line("o2", 3));
    restored.allocate(line("o3", 4));
    CHECK(restored.allocated_quantity() == 9);
    restored.set_purchased_quantity(4);
    CHECK(restored.deallocate_one() == line("o3", 4));
    CHECK(restored.deallocate_one() == line("o2", 3));
    CHECK(restored.available_quantity() == 2);
    CHECK(restored.allocations().lines() == std::vector{line("o1", 2)});
}
