#include "cluster/lease_table.hpp"
#include "cluster/partition_ownership.hpp"
#include "eventually.hpp"
#include "nats_server.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <mutex>

using namespace test_support;
using namespace std::chrono_literals;

namespace {

constexpr std::uint32_t partitions = 12;

/// Who consumes which partition, as the instances' handlers say, and every time one was gained
/// while another instance still had it.
class owner_board {
public:
    [[nodiscard]] cluster::ownership_handlers handlers_for(const std::string& instance) {
        return {.gained =
                    [this, instance](const cluster::lease& l) {
                        gained(instance, l.partition);
                        return true;
                    },
                .lost = [this, instance](std::uint32_t partition) { lost(instance, partition); }};
    }
    /// A crashed instance consumes nothing any more.
    void forget(const std::string& instance) {
        const std::scoped_lock lock{mutex_};
        std::erase_if(owners_, [&](const auto& entry) { return entry.second == instance; });
    }
    [[nodiscard]] std::size_t held_by(const std::string& instance) const {
        const std::scoped_lock lock{mutex_};
        return static_cast<std::size_t>(
            std::ranges::count_if(owners_, [&](const auto& entry) { return entry.second == instance; }));
    }
    [[nodiscard]] std::size_t owned() const {
        const std::scoped_lock lock{mutex_};
        return owners_.size();
    }
    [[nodiscard]] int overlaps() const {
        const std::scoped_lock lock{mutex_};
        return overlaps_;
    }

private:
    void gained(const std::string& instance, std::uint32_t partition) {
        const std::scoped_lock lock{mutex_};
        if (owners_.contains(partition)) {
            ++overlaps_;
        }
        owners_[partition] = instance;
    }
    void lost(const std::string& instance, std::uint32_t partition) {
        const std::scoped_lock lock{mutex_};
        if (const auto it = owners_.find(partition); it != owners_.end() && it->second == instance) {
            owners_.erase(it);
        }
    }

    mutable std::mutex mutex_;
    std::map<std::uint32_t, std::string> owners_;
    int overlaps_ = 0;
};

/// Instances of one cluster, each with its own connection, joining when asked.
struct cluster_of_instances {
    one_server nats;
    owner_board board;
    std::map<std::string, std::unique_ptr<cluster::nats_client>> clients;
    std::map<std::string, std::unique_ptr<cluster::partition_ownership>> instances;

    cluster::partition_ownership& join(const std::string& name) {
        auto& client = clients[name];
        client = std::make_unique<cluster::nats_client>(options_for(nats.server));
        auto& instance = instances[name];
        instance = std::make_unique<cluster::partition_ownership>(
            *client, cluster::ownership_settings{.instance = name, .partitions = partitions, .lease_ttl = 2s},
            board.handlers_for(name));
        return *instance;
    }

    [[nodiscard]] bool balanced(std::initializer_list<std::pair<const char*, std::size_t>> shares) const {
        return board.owned() == partitions && std::ranges::all_of(shares, [&](const auto& share) {
                   return board.held_by(share.first) == share.second;
               });
    }
};

}  // namespace

TEST_CASE("the fair share gives the remainder to the first instances by name", "[cluster][ownership]") {
    using cluster::fair_share;
    CHECK(fair_share(12, 1, 0) == 12);
    CHECK(fair_share(12, 5, 0) == 3);
    CHECK(fair_share(12, 5, 1) == 3);
    CHECK(fair_share(12, 5, 2) == 2);
    CHECK(fair_share(12, 5, 4) == 2);
    CHECK(fair_share(64, 9, 0) == 8);
    CHECK(fair_share(64, 9, 8) == 7);
    CHECK(fair_share(3, 5, 4) == 0);
}

TEST_CASE("one instance alone holds every partition", "[cluster][ownership]") {
    cluster_of_instances cluster;
    auto& a = cluster.join("a");
    REQUIRE(eventually([&] { return cluster.balanced({{"a", partitions}}); }));
    CHECK(a.held().size() == partitions);
}

TEST_CASE("partitions spread evenly as instances join, with one owner at a time", "[cluster][ownership]") {
    cluster_of_instances cluster;
    (void)cluster.join("a");
    REQUIRE(eventually([&] { return cluster.balanced({{"a", 12}}); }));
    (void)cluster.join("b");
    REQUIRE(eventually([&] { return cluster.balanced({{"a", 6}, {"b", 6}}); }));
    (void)cluster.join("c");
    REQUIRE(eventually([&] { return cluster.balanced({{"a", 4}, {"b", 4}, {"c", 4}}); }));
    CHECK(cluster.board.overlaps() == 0);
}

TEST_CASE("twelve partitions over five instances", "[cluster][ownership]") {
    cluster_of_instances cluster;
    for (const char* name : {"a", "b", "c", "d", "e"}) {
        (void)cluster.join(name);
    }
    REQUIRE(eventually([&] { return cluster.balanced({{"a", 3}, {"b", 3}, {"c", 2}, {"d", 2}, {"e", 2}}); }));
    CHECK(cluster.board.overlaps() == 0);
}

TEST_CASE("an instance that leaves hands its partitions over at once", "[cluster][ownership]") {
    cluster_of_instances cluster;
    (void)cluster.join("a");
    (void)cluster.join("b");
    auto& c = cluster.join("c");
    REQUIRE(eventually([&] { return cluster.balanced({{"a", 4}, {"b", 4}, {"c", 4}}); }));
    c.leave();
    CHECK(cluster.board.held_by("c") == 0);
    CHECK(c.held().empty());
    // Released at nats-server too, not left to expire: free for the others at once.
    cluster::lease_table look{cluster.nats.client, {.instance = "observer"}};
    for (std::uint32_t p = 0; p < partitions; ++p) {
        CHECK(look.holder(p) != "c");
    }
    REQUIRE(eventually([&] { return cluster.balanced({{"a", 6}, {"b", 6}}); }));
    CHECK(cluster.board.overlaps() == 0);
}

TEST_CASE("a crashed instance's partitions are taken over once its leases expire", "[cluster][ownership]") {
    cluster_of_instances cluster;
    (void)cluster.join("a");
    auto& b = cluster.join("b");
    REQUIRE(eventually([&] { return cluster.balanced({{"a", 6}, {"b", 6}}); }));
    b.abandon();  // no release, no goodbye: as kill -9 leaves it
    cluster.board.forget("b");
    REQUIRE(eventually([&] { return cluster.balanced({{"a", 12}}); }));
    CHECK(cluster.board.overlaps() == 0);
}

TEST_CASE("an instance restarted after a crash gets its share back", "[cluster][ownership]") {
    cluster_of_instances cluster;
    (void)cluster.join("a");
    auto& b = cluster.join("b");
    REQUIRE(eventually([&] { return cluster.balanced({{"a", 6}, {"b", 6}}); }));
    b.abandon();
    cluster.board.forget("b");
    cluster.instances.erase("b");
    (void)cluster.join("b");
    REQUIRE(eventually([&] { return cluster.balanced({{"a", 6}, {"b", 6}}); }));
    CHECK(cluster.board.overlaps() == 0);
}
