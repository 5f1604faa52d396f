#include "cluster/partitioning.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

using cluster::partitioning;

TEST_CASE("an aggregate's partition is the same in every process and release", "[cluster][partitioning]") {
    // Pinned: changing the hash re-homes every aggregate of a running cluster.
    const partitioning sixty_four{64};
    CHECK(sixty_four.partition_of("") == 14695981039346656037ULL % 64);
    CHECK(sixty_four.partition_of("a") == 0xaf63dc4c8601ec8cULL % 64);
    CHECK(sixty_four.partition_of("foobar") == 0x85944171f73967e8ULL % 64);
    CHECK(partitioning{1}.partition_of("any key") == 0);
}

TEST_CASE("aggregates spread evenly over the partitions", "[cluster][partitioning]") {
    const partitioning sixty_four{64};
    std::vector<int> per_partition(64);
    for (int i = 0; i < 64'000; ++i) {
        ++per_partition.at(sixty_four.partition_of("SKU-" + std::to_string(i)));
    }
    // 1,000 each on average; a hash that clusters keys would leave some far off.
    CHECK(*std::ranges::min_element(per_partition) > 850);
    CHECK(*std::ranges::max_element(per_partition) < 1150);
}

TEST_CASE("a cluster without partitions is refused", "[cluster][partitioning]") {
    CHECK_THROWS_AS(partitioning{0}, std::invalid_argument);
}

TEST_CASE("a partition's subject names it", "[cluster][partitioning]") {
    CHECK(cluster::inbound_subject(0) == "cascade.in.0");
    CHECK(cluster::inbound_subject(63) == "cascade.in.63");
}
