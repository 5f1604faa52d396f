// The SQLite store opens a file written before batches carried their totals, and upgrades it.
#include "support.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>

using namespace allocation;
using alloc_test::stored_product;

namespace {

// The schema of the first release, with one product: batch b1 of 10 holding o1 (3) and o2 (2);
// its view lost o2's row (a crash between the product's commit and the view's, as that release
// could).
constexpr const char* first_release_file = R"sql(
CREATE TABLE products (sku TEXT PRIMARY KEY, version_number INTEGER NOT NULL);
CREATE TABLE batches (
    sku TEXT NOT NULL REFERENCES products (sku), reference TEXT NOT NULL,
    purchased_quantity INTEGER NOT NULL CHECK (purchased_quantity >= 0), eta TEXT,
    PRIMARY KEY (sku, reference));
CREATE TABLE allocations (
    sku TEXT NOT NULL, batchref TEXT NOT NULL, position INTEGER NOT NULL, orderid TEXT NOT NULL,
    qty INTEGER NOT NULL CHECK (qty > 0), PRIMARY KEY (sku, batchref, position), UNIQUE (orderid, sku),
    FOREIGN KEY (sku, batchref) REFERENCES batches (sku, reference)) WITHOUT ROWID;
CREATE TABLE allocations_view (
    orderid TEXT NOT NULL, sku TEXT NOT NULL, batchref TEXT NOT NULL, PRIMARY KEY (orderid, sku));
INSERT INTO products VALUES ('LAMP', 2);
INSERT INTO batches VALUES ('LAMP', 'b1', 10, NULL);
INSERT INTO allocations VALUES ('LAMP', 'b1', 0, 'o1', 3), ('LAMP', 'b1', 1, 'o2', 2);
INSERT INTO allocations_view VALUES ('o1', 'LAMP', 'b1');
)sql";

}  // namespace

TEST_CASE("an SQLite file of the first schema is upgraded and keeps its allocations", "[allocation][store][sqlite]") {
    const alloc_test::temp_file file;
    {
        SQLite::Database db{file.path().string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE};
        db.exec(first_release_file);
    }
    {
        sqlite_store storage{file.path()};
        const auto stored = stored_product(storage, "LAMP");
        REQUIRE(stored.has_value());
        const batch& b1 = *stored->find_batch("b1");
        CHECK(b1.allocated_quantity() == 5);
        CHECK(b1.allocations().size() == 2);
        CHECK(storage.view().find("o2") == std::vector<allocation_row>{{"LAMP", "b1"}});  // rebuilt

        unit_of_work uow{storage};
        product* lamp = uow.products().get("LAMP");
        CHECK(lamp->allocate({"o2", "LAMP", 2}) == "b1");  // held already: nothing changes
        CHECK(lamp->allocate({"o3", "LAMP", 5}) == "b1");
        CHECK(lamp->allocate({"o4", "LAMP", 1}) == std::nullopt);
        uow.commit();
    }
    sqlite_store reopened{file.path()};  // already upgraded: opening again changes nothing
    const auto stored = stored_product(reopened, "LAMP");
    const batch& b1 = *stored->find_batch("b1");
    CHECK(b1.allocated_quantity() == 10);
    CHECK(b1.allocations().lines() == std::vector<order_line>{{"o1", "LAMP", 3}, {"o2", "LAMP", 2}, {"o3", "LAMP", 5}});
    CHECK(reopened.view().find("o3") == std::vector<allocation_row>{{"LAMP", "b1"}});
}

TEST_CASE("an SQLite file of a newer schema is refused", "[allocation][store][sqlite]") {
    const alloc_test::temp_file file;
    { sqlite_store storage{file.path()}; }
    {
        SQLite::Database db{file.path().string(), SQLite::OPEN_READWRITE};
        db.exec("PRAGMA user_version = 99");
    }
    CHECK_THROWS_WITH(sqlite_store{file.path()}, Catch::Contains("schema 99"));
}
