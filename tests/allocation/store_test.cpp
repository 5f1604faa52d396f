// The unit of work, the repository and the read model, against both stores (chapter 6's tests).
#include "support.hpp"

#include <allocation/errors.hpp>

#include <catch2/catch.hpp>

#include <stdexcept>
#include <type_traits>

using namespace allocation;
using alloc_test::memory_factory;
using alloc_test::sqlite_factory;
using alloc_test::stored_product;

namespace {

constexpr std::chrono::year_month_day someday{std::chrono::year{2030}, std::chrono::January, std::chrono::day{15}};

void insert_batch(store& storage, const std::string& ref, const std::string& sku, int qty,
                  std::optional<std::chrono::year_month_day> eta = {}) {
    unit_of_work uow{storage};
    product* p = uow.products().get(sku);
    if (p == nullptr) {
        p = &uow.products().add(product{sku});
    }
    p->add_batch({ref, sku, qty, eta});
    uow.commit();
}

}  // namespace

TEMPLATE_TEST_CASE("a committed unit of work stores products, batches and allocations", "[allocation][store]",
                   memory_factory, sqlite_factory) {
    TestType factory;
    const auto storage = factory.make();
    insert_batch(*storage, "batch1", "HIPSTER-WORKBENCH", 100, someday);
    insert_batch(*storage, "batch2", "HIPSTER-WORKBENCH", 50);
    {
        unit_of_work uow{*storage};
        product* p = uow.products().get("HIPSTER-WORKBENCH");
        REQUIRE(p != nullptr);
        REQUIRE(p->allocate({"o1", "HIPSTER-WORKBENCH", 10}) == "batch2");
        uow.commit();
    }
    const auto stored = stored_product(*storage, "HIPSTER-WORKBENCH");
    REQUIRE(stored.has_value());
    CHECK(stored->version_number() == 1);
    REQUIRE(stored->batches().size() == 2);
    CHECK(stored->batches()[0].reference() == "batch1");  // the order they were added in
    CHECK(stored->batches()[0].eta() == someday);
    CHECK(stored->batches()[1].eta() == std::nullopt);
    CHECK(stored->batches()[1].allocations().lines() == std::vector<order_line>{{"o1", "HIPSTER-WORKBENCH", 10}});
    CHECK(stored->find_batch("batch1")->allocated_quantity() == 0);
    CHECK_FALSE(stored_product(*storage, "NOTHING").has_value());
}

TEMPLATE_TEST_CASE("a unit of work rolls back when left without commit", "[allocation][store]", memory_factory,
                   sqlite_factory) {
    TestType factory;
    const auto storage = factory.make();
    insert_batch(*storage, "batch1", "MEDIUM-PLINTH", 100);
    {
        unit_of_work uow{*storage};
        uow.products().add(product{"NEW-SKU", {batch{"b9", "NEW-SKU", 5}}});
        REQUIRE(uow.products().get("MEDIUM-PLINTH")->allocate({"o1", "MEDIUM-PLINTH", 10}).has_value());
    }
    CHECK_FALSE(stored_product(*storage, "NEW-SKU").has_value());
    CHECK(stored_product(*storage, "MEDIUM-PLINTH")->find_batch("batch1")->allocated_quantity() == 0);

    unit_of_work explicit_rollback{*storage};
    REQUIRE(explicit_rollback.products().get("MEDIUM-PLINTH")->allocate({"o1", "MEDIUM-PLINTH", 10}).has_value());
    explicit_rollback.rollback();
    CHECK_FALSE(explicit_rollback.open());
    CHECK(explicit_rollback.collect_new_events().empty());  // what was rolled back never happened
    CHECK(stored_product(*storage, "MEDIUM-PLINTH")->version_number() == 0);
}

TEMPLATE_TEST_CASE("a unit of work rolls back on an exception", "[allocation][store]", memory_factory, sqlite_factory) {
    TestType factory;
    const auto storage = factory.make();
    insert_batch(*storage, "batch1", "LARGE-FORK", 100);
    const auto failing_handler = [&] {
        unit_of_work uow{*storage};
        REQUIRE(uow.products().get("LARGE-FORK")->allocate({"o1", "LARGE-FORK", 10}).has_value());
        throw std::runtime_error{"boom"};
    };
    CHECK_THROWS_WITH(failing_handler(), "boom");
    const auto stored = stored_product(*storage, "LARGE-FORK");
    CHECK(stored->version_number() == 0);
    CHECK(stored->find_batch("batch1")->allocations().empty());
}

TEMPLATE_TEST_CASE("a commit hands over the new events of every product seen", "[allocation][store]", memory_factory,
                   sqlite_factory) {
    TestType factory;
    const auto storage = factory.make();
    insert_batch(*storage, "b1", "A", 1);
    insert_batch(*storage, "b2", "B", 1);
    unit_of_work uow{*storage};
    const auto source = uow.event_source();
    REQUIRE(uow.products().get("A")->allocate({"o1", "A", 1}) == "b1");
    REQUIRE_FALSE(uow.products().get("B")->allocate({"o1", "B", 5}).has_value());
    CHECK(source().empty());  // nothing before the commit
    uow.commit();
    const auto events = source();
    REQUIRE(events.size() == 2);
    CHECK(events[0].get_if<allocated>() != nullptr);
    CHECK(events[1].get_if<out_of_stock>() != nullptr);
    CHECK(source().empty());  // each event is collected once
    CHECK_THROWS_AS(uow.commit(), std::logic_error);
}

TEMPLATE_TEST_CASE("a commit changes only what changed, line by line", "[allocation][store]", memory_factory,
                   sqlite_factory) {
    TestType factory;
    const auto storage = factory.make();
    insert_batch(*storage, "b1", "LAMP", 10);
    insert_batch(*storage, "b2", "LAMP", 10, someday);
    for (const char* order : {"o1", "o2", "o3"}) {
        unit_of_work uow{*storage};
        REQUIRE(uow.products().get("LAMP")->allocate({order, "LAMP", 3}) == "b1");
        uow.commit();
    }
    {
        unit_of_work uow{*storage};
        product& lamp = *uow.products().get("LAMP");
        lamp.change_batch_quantity("b1", 4);  // o3 and o2 leave b1
        REQUIRE(lamp.allocate({"o3", "LAMP", 3}) == "b2");
        REQUIRE(lamp.allocate({"o2", "LAMP", 3}) == "b2");
        uow.commit();
    }
    const auto stored = stored_product(*storage, "LAMP");
    CHECK(stored->find_batch("b1")->purchased_quantity() == 4);
    CHECK(stored->find_batch("b1")->allocations().lines() == std::vector<order_line>{{"o1", "LAMP", 3}});
    CHECK(stored->find_batch("b2")->allocations().lines() ==
          std::vector<order_line>{{"o3", "LAMP", 3}, {"o2", "LAMP", 3}});
    CHECK(stored->version_number() == 5);
}

TEMPLATE_TEST_CASE("adding a product that exists is refused", "[allocation][store]", memory_factory, sqlite_factory) {
    TestType factory;
    const auto storage = factory.make();
    insert_batch(*storage, "b1", "SOFA", 1);
    unit_of_work uow{*storage};
    CHECK_THROWS_AS(uow.products().add(product{"SOFA"}), std::invalid_argument);
}

TEMPLATE_TEST_CASE("the allocations view changes with the commit of the products", "[allocation][store][views]",
                   memory_factory, sqlite_factory) {
    TestType factory;
    const auto storage = factory.make();
    const allocations_view& view = storage->view();
    insert_batch(*storage, "batch1", "SKU-A", 10);
    insert_batch(*storage, "batch2", "SKU-B", 10);
    {
        unit_of_work uow{*storage};
        REQUIRE(uow.products().get("SKU-B")->allocate({"order1", "SKU-B", 2}) == "batch2");
        REQUIRE(uow.products().get("SKU-A")->allocate({"order1", "SKU-A", 5}) == "batch1");
        REQUIRE(uow.products().get("SKU-A")->allocate({"order2", "SKU-A", 5}) == "batch1");
        CHECK(view.find("order1").empty());  // not before the commit
        uow.commit();
    }
    CHECK(view.find("order1") == std::vector<allocation_row>{{"SKU-A", "batch1"}, {"SKU-B", "batch2"}});
    CHECK(view.find("order2") == std::vector<allocation_row>{{"SKU-A", "batch1"}});
    {
        unit_of_work uow{*storage};
        uow.products().get("SKU-A")->change_batch_quantity("batch1", 5);  // order2 is deallocated
        uow.commit();
    }
    CHECK(view.find("order2").empty());
    CHECK(view.find("order1") == std::vector<allocation_row>{{"SKU-A", "batch1"}, {"SKU-B", "batch2"}});
}

TEMPLATE_TEST_CASE("the allocations view never shows what was rolled back or refused", "[allocation][store][views]",
                   memory_factory, sqlite_factory) {
    TestType factory;
    const auto storage = factory.make();
    insert_batch(*storage, "b1", "LAMP", 10);
    {
        unit_of_work left{*storage};
        REQUIRE(left.products().get("LAMP")->allocate({"o1", "LAMP", 1}) == "b1");
    }  // rolled back
    CHECK(storage->view().find("o1").empty());
    if constexpr (std::is_same_v<TestType, memory_factory>) {  // SQLite serialises its writers instead
        unit_of_work first{*storage};
        unit_of_work second{*storage};
        REQUIRE(first.products().get("LAMP")->allocate({"o2", "LAMP", 1}) == "b1");
        REQUIRE(second.products().get("LAMP")->allocate({"o3", "LAMP", 1}) == "b1");
        first.commit();
        CHECK_THROWS_AS(second.commit(), concurrency_error);
        CHECK(storage->view().find("o2") == std::vector<allocation_row>{{"LAMP", "b1"}});
        CHECK(storage->view().find("o3").empty());
    }
}

TEST_CASE("the memory store refuses a commit over a concurrent one", "[allocation][store]") {
    memory_store storage;
    insert_batch(storage, "b1", "CLOCK", 10);
    unit_of_work first{storage};
    unit_of_work second{storage};
    REQUIRE(first.products().get("CLOCK")->allocate({"o1", "CLOCK", 1}) == "b1");
    REQUIRE(second.products().get("CLOCK")->allocate({"o2", "CLOCK", 1}) == "b1");
    first.commit();
    CHECK_THROWS_AS(second.commit(), concurrency_error);
    CHECK_FALSE(second.open());
    const auto stored = stored_product(storage, "CLOCK");
    CHECK(stored->version_number() == 1);
    CHECK(stored->find_batch("b1")->allocations().lines() == std::vector<order_line>{{"o1", "CLOCK", 1}});
}

TEST_CASE("SQLite state survives closing and reopening the file", "[allocation][store][sqlite]") {
    const alloc_test::temp_file file;
    {
        sqlite_store storage{file.path()};
        insert_batch(storage, "b1", "TABLE", 10);
        insert_batch(storage, "b2", "TABLE", 10, someday);
        unit_of_work uow{storage};
        REQUIRE(uow.products().get("TABLE")->allocate({"o1", "TABLE", 7}) == "b1");
        uow.commit();
    }
    sqlite_store reopened{file.path()};
    const auto stored = stored_product(reopened, "TABLE");
    REQUIRE(stored.has_value());
    CHECK(stored->version_number() == 1);
    CHECK(stored->find_batch("b1")->allocations().lines() == std::vector<order_line>{{"o1", "TABLE", 7}});
    CHECK(stored->find_batch("b2")->eta() == someday);
    CHECK(reopened.view().find("o1") == std::vector<allocation_row>{{"TABLE", "b1"}});
}

TEST_CASE("the SQLite store runs in WAL mode and creates its schema", "[allocation][store][sqlite]") {
    const alloc_test::temp_file file;
    { const sqlite_store storage{file.path()}; }
    CHECK(std::filesystem::exists(file.path()));
    // A second store on the same file finds the schema there and does not recreate it.
    sqlite_store again{file.path()};
    insert_batch(again, "b1", "X", 1);
    CHECK(stored_product(again, "X").has_value());
    CHECK(std::filesystem::exists(file.path().string() + "-wal"));  // WAL mode keeps a -wal file while open
}

TEST_CASE("the SQLite store's WAL starts over while units of work keep committing", "[allocation][store][sqlite]") {
    // Checkpoints run on a thread of their own: if they did not catch up, or never ran, the WAL
    // would keep every page ever written (here about 20,000 of them).
    const alloc_test::temp_file file;
    sqlite_store storage{file.path()};
    const std::filesystem::path wal = file.path().string() + "-wal";
    std::uintmax_t largest = 0;
    for (int i = 0; i < 5'000; ++i) {
        insert_batch(storage, "b" + std::to_string(i), "SKU-" + std::to_string(i), 10);
        largest = std::max(largest, std::filesystem::file_size(wal));
    }
    INFO("largest WAL: " << largest << " bytes");
    CHECK(largest < std::uintmax_t{6'000} * 4'096);  // a few checkpoints' worth of pages (1,000 each)
}

TEST_CASE("the SQLite store runs with the synchronous setting it was given", "[allocation][store][sqlite]") {
    const alloc_test::temp_file file;
    CHECK(sqlite_store{file.path()}.sync() == sqlite_sync::normal);
    sqlite_store full{sqlite_options{.path = file.path(), .sync = sqlite_sync::full}};
    CHECK(full.sync() == sqlite_sync::full);
    insert_batch(full, "b1", "DESK", 1);  // a unit of work on it commits
    CHECK(stored_product(full, "DESK").has_value());
}
