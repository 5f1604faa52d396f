#include "cluster/versioned_bucket.hpp"
#include "eventually.hpp"
#include "nats_server.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace test_support;

TEST_CASE("a versioned bucket writes only over the revision the writer read", "[cluster][bucket]") {
    one_server nats;
    cluster::versioned_bucket products{nats.client, "test_products"};
    CHECK_FALSE(products.get("SKU-1").has_value());

    const auto created = products.create("SKU-1", "v1");
    REQUIRE(created.has_value());
    CHECK_FALSE(products.create("SKU-1", "again").has_value());  // it exists now

    // Two writers read the same revision: the first update lands, the second is refused.
    const auto read = products.get("SKU-1");
    REQUIRE(read.has_value());
    CHECK(read->value == "v1");
    CHECK(read->revision == *created);
    const auto first = products.update("SKU-1", "v2 by first", read->revision);
    REQUIRE(first.has_value());
    CHECK(*first > *created);
    CHECK_FALSE(products.update("SKU-1", "v2 by second", read->revision).has_value());
    CHECK(products.get("SKU-1")->value == "v2 by first");
}

TEST_CASE("a versioned bucket's put, erase and keys", "[cluster][bucket]") {
    one_server nats;
    cluster::versioned_bucket bucket{nats.client, "test_bucket"};
    CHECK(bucket.keys().empty());
    const auto first = bucket.put("a", "1");
    CHECK(bucket.put("a", "2") > first);  // put ignores revisions, but still moves them
    (void)bucket.put("b", "1");
    auto keys = bucket.keys();
    std::ranges::sort(keys);
    CHECK(keys == std::vector<std::string>{"a", "b"});
    bucket.erase("a");
    CHECK_FALSE(bucket.get("a").has_value());
    CHECK(bucket.keys() == std::vector<std::string>{"b"});
    CHECK(bucket.create("a", "again").has_value());  // an erased key can be created anew
}

TEST_CASE("a second client binds to the bucket the first created", "[cluster][bucket]") {
    one_server nats;
    cluster::versioned_bucket first{nats.client, "shared"};
    (void)first.put("k", "v");
    cluster::nats_client other{options_for(nats.server)};
    const cluster::versioned_bucket second{other, "shared"};
    CHECK(second.get("k")->value == "v");
}
