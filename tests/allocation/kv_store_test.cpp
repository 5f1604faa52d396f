// The products in the cluster's key-value bucket, shared by instances: each test starts its own
// nats-server, and each "instance" is a store on a connection of its own.
#include "eventually.hpp"
#include "nats_server.hpp"

#include <allocation/errors.hpp>
#include <allocation/kv_store.hpp>
#include <allocation/unit_of_work.hpp>

#include <catch2/catch.hpp>

using namespace allocation;
using namespace test_support;

namespace {

/// Two instances of one cluster, each with its own connection and store.
struct two_instances {
    one_server nats;
    cluster::nats_client other_client{options_for(nats.server)};
    kv_store a{nats.client};
    kv_store b{other_client};
};

void add_batch(store& storage, const std::string& ref, const std::string& sku, int qty) {
    unit_of_work uow{storage};
    product* p = uow.products().get(sku);
    if (p == nullptr) {
        p = &uow.products().add(product{sku});
    }
    p->add_batch({ref, sku, qty});
    uow.commit();
}

[[nodiscard]] int allocated(store& storage, const std::string& sku) {
    unit_of_work uow{storage};
    const product* p = uow.products().get(sku);
    int total = 0;
    for (const auto& b : p->batches()) {
        total += b.allocated_quantity();
    }
    return total;
}

}  // namespace

TEST_CASE("what one instance commits, another loads", "[allocation][kv_store]") {
    two_instances cluster;
    add_batch(cluster.a, "b1", "SOFA", 10);
    {
        unit_of_work uow{cluster.b};
        REQUIRE(uow.products().get("SOFA")->allocate({"o1", "SOFA", 3}) == "b1");
        uow.commit();
    }
    CHECK(allocated(cluster.a, "SOFA") == 3);
    CHECK(cluster.b.view().find("o1") == std::vector<allocation_row>{{"SOFA", "b1"}});
    {
        unit_of_work uow{cluster.a};
        CHECK(uow.products().get("NOTHING") == nullptr);
    }
}

TEST_CASE("of two instances that loaded the same product, the second commit is a concurrency error",
          "[allocation][kv_store]") {
    two_instances cluster;
    add_batch(cluster.a, "b1", "CHAIR", 10);
    unit_of_work first{cluster.a};
    unit_of_work second{cluster.b};
    REQUIRE(first.products().get("CHAIR")->allocate({"o1", "CHAIR", 6}) == "b1");
    REQUIRE(second.products().get("CHAIR")->allocate({"o2", "CHAIR", 6}) == "b1");
    first.commit();
    CHECK_THROWS_AS(second.commit(), concurrency_error);
    CHECK(allocated(cluster.b, "CHAIR") == 6);  // never 12 out of 10
    CHECK(cluster.b.view().find("o2").empty());
}

TEST_CASE("two instances adding the same new product: the second is a concurrency error", "[allocation][kv_store]") {
    two_instances cluster;
    unit_of_work first{cluster.a};
    unit_of_work second{cluster.b};
    first.products().add(product{"DESK"}).add_batch({"b1", "DESK", 1});
    second.products().add(product{"DESK"}).add_batch({"b2", "DESK", 2});
    first.commit();
    CHECK_THROWS_AS(second.commit(), concurrency_error);
    unit_of_work look{cluster.b};
    REQUIRE(look.products().get("DESK") != nullptr);
    CHECK(look.products().get("DESK")->find_batch("b1") != nullptr);
    CHECK(look.products().get("DESK")->find_batch("b2") == nullptr);
}

TEST_CASE("a unit of work on the key-value store changes one product at most", "[allocation][kv_store]") {
    two_instances cluster;
    {
        unit_of_work uow{cluster.a};
        uow.products().add(product{"ONE"});
        uow.products().add(product{"TWO"});
        CHECK_THROWS_AS(uow.commit(), std::logic_error);
    }
    unit_of_work look{cluster.a};
    CHECK(look.products().get("ONE") == nullptr);  // nothing was written
    CHECK(look.products().get("TWO") == nullptr);
}

TEST_CASE("instances allocating one product in turn never allocate past its stock", "[allocation][kv_store]") {
    two_instances cluster;
    add_batch(cluster.a, "b1", "LAMP", 20);
    int refused = 0;
    int placed = 0;
    for (int i = 0; i < 30; ++i) {
        // Both read, then both try to write: one of each pair wins, the other retries once.
        kv_store& first = i % 2 == 0 ? cluster.a : cluster.b;
        kv_store& second = i % 2 == 0 ? cluster.b : cluster.a;
        unit_of_work one{first};
        unit_of_work two{second};
        const auto orderid = "order-" + std::to_string(i);
        const bool placed_one = one.products().get("LAMP")->allocate({orderid + "-a", "LAMP", 1}).has_value();
        const bool placed_two = two.products().get("LAMP")->allocate({orderid + "-b", "LAMP", 1}).has_value();
        one.commit();
        placed += placed_one ? 1 : 0;
        try {
            two.commit();
            placed += placed_two ? 1 : 0;
        } catch (const concurrency_error&) {
            ++refused;
        }
    }
    CHECK(refused == 30);  // every second writer had read a stale revision
    CHECK(placed == 20);   // the stock, exactly: 30 first writers, the last 10 out of stock
    CHECK(allocated(cluster.a, "LAMP") == 20);
}
