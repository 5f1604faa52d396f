// lane_table on its own: activation, order, emptying, warm lanes, closing.
#include "lane_table.hpp"

#include "test_domain.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using cascade::detail::lane_table;
using cascade::detail::work_item;
using take = lane_table::take_status;

namespace {

[[nodiscard]] work_item item(const std::string& key, int seq) {
    return {.message = cascade::envelope{.id = static_cast<cascade::message_id>(seq),
                                         .message = cascade::any_message{test_domain::noted{.key = key, .seq = seq}}},
            .cascade = nullptr};
}

[[nodiscard]] std::vector<int> seqs(const std::vector<work_item>& batch) {
    std::vector<int> out;
    for (const auto& i : batch) {
        out.push_back(i.message.message.get_if<test_domain::noted>()->seq);
    }
    return out;
}

}  // namespace

TEST_CASE("a lane is activated by its first message and hands out its messages in order", "[lanes]") {
    lane_table table{4};
    auto a1 = item("a", 1);
    auto a2 = item("a", 2);
    auto b1 = item("b", 3);
    const auto first = table.enqueue(a1);
    CHECK(first.activated);
    CHECK_FALSE(first.refused);
    CHECK_FALSE(table.enqueue(a2).activated);  // already scheduled
    const auto other = table.enqueue(b1);
    CHECK(other.activated);
    CHECK(table.active() == 2);

    std::vector<work_item> batch;
    REQUIRE(table.take_batch(first.activated, batch) == take::taken);
    CHECK(seqs(batch) == std::vector<int>{1, 2});
    batch.clear();
    CHECK(table.take_batch(first.activated, batch) == take::emptied);
    CHECK(table.active() == 1);
    REQUIRE(table.take_batch(other.activated, batch) == take::taken);
    batch.clear();
    CHECK(table.take_batch(other.activated, batch) == take::emptied_last);
    CHECK(table.active() == 0);
}

TEST_CASE("an emptied lane stays warm for its aggregate until it is swept", "[lanes]") {
    lane_table table{1};
    auto a1 = item("a", 1);
    const auto lane = table.enqueue(a1).activated;
    std::vector<work_item> batch;
    REQUIRE(table.take_batch(lane, batch) == take::taken);
    batch.clear();
    REQUIRE(table.take_batch(lane, batch) == take::emptied_last);
    CHECK(table.resident() == 1);
    auto a2 = item("a", 2);
    CHECK(table.enqueue(a2).activated.target == lane.target);  // the warm lane is reused
    REQUIRE(table.take_batch(lane, batch) == take::taken);
    batch.clear();
    REQUIRE(table.take_batch(lane, batch) == take::emptied_last);
    table.sweep_warm();
    CHECK(table.resident() == 0);
}

TEST_CASE("closing hands over every queued message and refuses later ones", "[lanes]") {
    lane_table table{4};
    for (int i = 0; i < 6; ++i) {
        auto it = item("k" + std::to_string(i % 3), i);
        (void)table.enqueue(it);
    }
    std::vector<int> handed;
    table.close([&](work_item& i) { handed.push_back(i.message.message.get_if<test_domain::noted>()->seq); });
    std::sort(handed.begin(), handed.end());
    CHECK(handed == std::vector<int>{0, 1, 2, 3, 4, 5});
    CHECK(table.active() == 0);
    CHECK(table.resident() == 0);
    auto late = item("k0", 9);
    const auto refused = table.enqueue(late);
    CHECK(refused.refused);
    CHECK_FALSE(refused.activated);
    CHECK(late.message.message.get_if<test_domain::noted>() != nullptr);  // not moved from
}
