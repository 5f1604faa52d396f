#include "cluster/lease_table.hpp"
#include "eventually.hpp"
#include "nats_server.hpp"

#include <catch2/catch.hpp>

using namespace test_support;
using namespace std::chrono_literals;

namespace {

/// Two instances of one cluster, each with its own connection.
struct two_instances {
    one_server nats;
    cluster::nats_client b_client{options_for(nats.server)};
    cluster::lease_table a{nats.client, {.instance = "a", .ttl = 3s}};
    cluster::lease_table b{b_client, {.instance = "b", .ttl = 3s}};
};

}  // namespace

TEST_CASE("a partition's lease has one holder at a time", "[cluster][lease]") {
    two_instances cluster;
    const auto held = cluster.a.try_claim(7);
    REQUIRE(held.has_value());
    CHECK(held->partition == 7);
    CHECK_FALSE(cluster.b.try_claim(7).has_value());
    CHECK(cluster.b.holder(7) == "a");
    CHECK_FALSE(cluster.a.holder(8).has_value());
    CHECK(cluster.b.try_claim(8).has_value());  // the others stay free
}

TEST_CASE("renewing moves the fencing token, and a stale token is refused", "[cluster][lease]") {
    two_instances cluster;
    const auto first = cluster.a.try_claim(1);
    REQUIRE(first.has_value());
    const auto renewed = cluster.a.renew(*first);
    REQUIRE(renewed.has_value());
    CHECK(renewed->revision > first->revision);
    CHECK_FALSE(cluster.a.renew(*first).has_value());  // a holder that missed its own renewal
    CHECK(cluster.a.renew(*renewed).has_value() == true);
}

TEST_CASE("a lease that is not renewed expires and another instance takes it over", "[cluster][lease]") {
    two_instances cluster;
    const auto held = cluster.a.try_claim(3);
    REQUIRE(held.has_value());
    // The TTL is 3 s (long enough for a loaded sanitizer build to renew in time); nats-server removes expired entries
    // on its own schedule.
    REQUIRE(eventually([&] { return cluster.b.try_claim(3).has_value(); }, 30s));
    CHECK(cluster.a.holder(3) == "b");
    CHECK_FALSE(cluster.a.renew(*held).has_value());  // the old holder is fenced off
}

TEST_CASE("a released lease is free at once, and releasing a lost one changes nothing", "[cluster][lease]") {
    two_instances cluster;
    const auto held = cluster.a.try_claim(2);
    REQUIRE(held.has_value());
    cluster.a.release(*held);
    CHECK_FALSE(cluster.a.holder(2).has_value());
    const auto taken = cluster.b.try_claim(2);
    REQUIRE(taken.has_value());
    cluster.a.release(*held);  // stale: b's lease must survive it
    CHECK(cluster.a.holder(2) == "b");
    CHECK(cluster.b.renew(*taken).has_value());
}

TEST_CASE("a restarted instance waits for its previous incarnation's leases to expire", "[cluster][lease]") {
    two_instances cluster;
    REQUIRE(cluster.a.try_claim(4).has_value());
    // The same name, but not the same holder: the old process may still be alive, cut off.
    cluster::nats_client restarted_client{options_for(cluster.nats.server)};
    cluster::lease_table restarted{restarted_client, {.instance = "a", .ttl = 3s}};
    CHECK_FALSE(restarted.try_claim(4).has_value());
    CHECK(restarted.holder(4) == "a");
    REQUIRE(eventually([&] { return restarted.try_claim(4).has_value(); }, 30s));
    CHECK_FALSE(cluster.b.try_claim(4).has_value());
}

TEST_CASE("leases live by the bucket's TTL, whoever created it", "[cluster][lease]") {
    two_instances cluster;  // created with 3 s
    cluster::nats_client late_client{options_for(cluster.nats.server)};
    const cluster::lease_table late{late_client, {.instance = "late", .ttl = 30s}};
    CHECK(late.ttl() == 3s);
    CHECK(cluster.a.ttl() == 3s);
}
