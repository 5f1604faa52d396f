// The handlers through the bus, against both stores (the book's test_handlers.py and
// test_views.py): submit, co_await nothing but the outcome, then look at the state.
#include "support.hpp"

#include <catch2/catch.hpp>

using namespace allocation;
using alloc_test::events_of;
using alloc_test::memory_factory;
using alloc_test::sqlite_factory;
using alloc_test::stored_product;

namespace {

constexpr std::chrono::year_month_day today{std::chrono::year{2024}, std::chrono::May, std::chrono::day{1}};

[[nodiscard]] nlohmann::json view_row(std::string_view sku, std::string_view batchref) {
    return nlohmann::json::array({{{"sku", sku}, {"batchref", batchref}}});
}

}  // namespace

TEMPLATE_TEST_CASE("BatchCreated adds a batch for a new product", "[allocation][service]", memory_factory,
                   sqlite_factory) {
    alloc_test::service<TestType> svc;
    const auto result = svc.run(batch_created{"b1", "CRUNCHY-ARMCHAIR", 100, std::nullopt});
    CHECK(result.status == cascade::cascade_status::ok);
    const auto stored = stored_product(svc.app->storage(), "CRUNCHY-ARMCHAIR");
    REQUIRE(stored.has_value());
    REQUIRE(stored->batches().size() == 1);
    CHECK(stored->batches()[0].reference() == "b1");
    CHECK(stored->batches()[0].purchased_quantity() == 100);
}

TEMPLATE_TEST_CASE("BatchCreated adds a batch for an existing product", "[allocation][service]", memory_factory,
                   sqlite_factory) {
    alloc_test::service<TestType> svc;
    REQUIRE(svc.run(batch_created{"b1", "GARISH-RUG", 100, std::nullopt}).status == cascade::cascade_status::ok);
    REQUIRE(svc.run(batch_created{"b2", "GARISH-RUG", 99, today}).status == cascade::cascade_status::ok);
    const auto stored = stored_product(svc.app->storage(), "GARISH-RUG");
    REQUIRE(stored.has_value());
    CHECK(stored->find_batch("b1") != nullptr);
    CHECK(stored->find_batch("b2")->eta() == today);

    const auto duplicate = svc.run(batch_created{"b2", "GARISH-RUG", 1, std::nullopt});
    CHECK(duplicate.status == cascade::cascade_status::failed);
    REQUIRE(duplicate.errors.size() == 1);
    CHECK(duplicate.errors[0].message == "Duplicate batch reference b2");
}

TEMPLATE_TEST_CASE("AllocationRequired returns the batch reference and commits", "[allocation][service]",
                   memory_factory, sqlite_factory) {
    alloc_test::service<TestType> svc;
    REQUIRE(svc.run(batch_created{"batch1", "COMPLICATED-LAMP", 100, std::nullopt}).status ==
            cascade::cascade_status::ok);
    const auto result = svc.run(allocation_required{"o1", "COMPLICATED-LAMP", 10});
    CHECK(result.status == cascade::cascade_status::ok);
    CHECK(result.result == "batch1");
    CHECK(events_of<allocated>(result) == std::vector{allocated{"o1", "COMPLICATED-LAMP", 10, "batch1"}});
    const auto stored = stored_product(svc.app->storage(), "COMPLICATED-LAMP");
    CHECK(stored->find_batch("batch1")->available_quantity() == 90);
    CHECK(stored->version_number() == 1);
}

TEMPLATE_TEST_CASE("AllocationRequired for an invalid SKU fails the command", "[allocation][service]", memory_factory,
                   sqlite_factory) {
    alloc_test::service<TestType> svc;
    REQUIRE(svc.run(batch_created{"b1", "AREALSKU", 100, std::nullopt}).status == cascade::cascade_status::ok);
    const auto result = svc.run(allocation_required{"o1", "NONEXISTENTSKU", 10});
    CHECK(result.status == cascade::cascade_status::failed);
    CHECK(result.result.is_null());
    REQUIRE(result.errors.size() == 1);
    CHECK(result.errors[0].code == cascade::failure::command_failed);
    CHECK(result.errors[0].message == "Invalid sku NONEXISTENTSKU");
    CHECK(result.events.empty());
}

TEMPLATE_TEST_CASE("out of stock sends exactly one notification", "[allocation][service]", memory_factory,
                   sqlite_factory) {
    alloc_test::service<TestType> svc;
    REQUIRE(svc.run(batch_created{"b1", "POPULAR-CURTAINS", 9, std::nullopt}).status == cascade::cascade_status::ok);
    const auto result = svc.run(allocation_required{"o1", "POPULAR-CURTAINS", 10});
    CHECK(result.status == cascade::cascade_status::ok);
    CHECK(result.result.is_null());
    CHECK(events_of<out_of_stock>(result) == std::vector{out_of_stock{"POPULAR-CURTAINS"}});
    const auto sent = svc.notifier->sent();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].first == "stock@made.com");
    CHECK(sent[0].second == "Out of stock for POPULAR-CURTAINS");
    CHECK(stored_product(svc.app->storage(), "POPULAR-CURTAINS")->version_number() == 0);
}

TEMPLATE_TEST_CASE("BatchQuantityChanged reallocates through the cascade", "[allocation][service]", memory_factory,
                   sqlite_factory) {
    alloc_test::service<TestType> svc;
    REQUIRE(svc.run(batch_created{"batch1", "INDIFFERENT-TABLE", 50, std::nullopt}).status ==
            cascade::cascade_status::ok);
    REQUIRE(svc.run(batch_created{"batch2", "INDIFFERENT-TABLE", 50, today}).status == cascade::cascade_status::ok);
    REQUIRE(svc.run(allocation_required{"order1", "INDIFFERENT-TABLE", 20}).result == "batch1");
    REQUIRE(svc.run(allocation_required{"order2", "INDIFFERENT-TABLE", 20}).result == "batch1");
    {
        const auto before = stored_product(svc.app->storage(), "INDIFFERENT-TABLE");
        REQUIRE(before->find_batch("batch1")->available_quantity() == 10);
        REQUIRE(before->find_batch("batch2")->available_quantity() == 50);
    }

    const auto result = svc.run(batch_quantity_changed{"batch1", "INDIFFERENT-TABLE", 25});
    CHECK(result.status == cascade::cascade_status::ok);
    CHECK(events_of<deallocated>(result) == std::vector{deallocated{"order2", "INDIFFERENT-TABLE", 20}});
    CHECK(events_of<allocated>(result) == std::vector{allocated{"order2", "INDIFFERENT-TABLE", 20, "batch2"}});
    REQUIRE(result.events.size() == 2);
    CHECK(result.events[1].causation_id == result.events[0].id);  // Allocated came from handling Deallocated

    const auto after = stored_product(svc.app->storage(), "INDIFFERENT-TABLE");
    CHECK(after->find_batch("batch1")->available_quantity() == 5);
    CHECK(after->find_batch("batch2")->available_quantity() == 30);
    CHECK(after->find_batch("batch2")->allocations().lines() ==
          std::vector<order_line>{{"order2", "INDIFFERENT-TABLE", 20}});
    CHECK(after->version_number() == 3);
    CHECK(svc.app->allocations("order1") == view_row("INDIFFERENT-TABLE", "batch1"));
    CHECK(svc.app->allocations("order2") == view_row("INDIFFERENT-TABLE", "batch2"));
}

TEMPLATE_TEST_CASE("a shrinking batch whose lines fit nowhere ends in OutOfStock", "[allocation][service]",
                   memory_factory, sqlite_factory) {
    alloc_test::service<TestType> svc;
    REQUIRE(svc.run(batch_created{"only", "VASE", 10, std::nullopt}).status == cascade::cascade_status::ok);
    REQUIRE(svc.run(allocation_required{"o1", "VASE", 6}).result == "only");
    const auto result = svc.run(batch_quantity_changed{"only", "VASE", 0});
    CHECK(result.status == cascade::cascade_status::ok);
    CHECK(events_of<deallocated>(result).size() == 1);
    CHECK(events_of<out_of_stock>(result) == std::vector{out_of_stock{"VASE"}});
    CHECK(svc.notifier->sent().size() == 1);
    CHECK_FALSE(svc.app->allocations("o1").has_value());
}

TEMPLATE_TEST_CASE("BatchQuantityChanged for an unknown batch or SKU fails the command", "[allocation][service]",
                   memory_factory, sqlite_factory) {
    alloc_test::service<TestType> svc;
    REQUIRE(svc.run(batch_created{"b1", "MIRROR", 10, std::nullopt}).status == cascade::cascade_status::ok);
    const auto unknown_batch = svc.run(batch_quantity_changed{"b9", "MIRROR", 5});
    CHECK(unknown_batch.status == cascade::cascade_status::failed);
    REQUIRE(unknown_batch.errors.size() == 1);
    CHECK(unknown_batch.errors[0].message == "Invalid batch reference b9");
    const auto unknown_sku = svc.run(batch_quantity_changed{"b1", "NOPE", 5});
    REQUIRE(unknown_sku.errors.size() == 1);
    CHECK(unknown_sku.errors[0].message == "Invalid sku NOPE");
    CHECK(stored_product(svc.app->storage(), "MIRROR")->find_batch("b1")->purchased_quantity() == 10);
}

TEMPLATE_TEST_CASE("the read model answers after allocation", "[allocation][service][views]", memory_factory,
                   sqlite_factory) {
    alloc_test::service<TestType> svc;
    REQUIRE(svc.run(batch_created{"sku1batch", "sku1", 50, std::nullopt}).status == cascade::cascade_status::ok);
    REQUIRE(svc.run(batch_created{"sku2batch", "sku2", 50, today}).status == cascade::cascade_status::ok);
    REQUIRE(svc.run(allocation_required{"order1", "sku1", 20}).result == "sku1batch");
    REQUIRE(svc.run(allocation_required{"order1", "sku2", 20}).result == "sku2batch");
    REQUIRE(svc.run(allocation_required{"otherorder", "sku1", 30}).result == "sku1batch");
    REQUIRE(svc.run(allocation_required{"otherorder", "sku2", 10}).result == "sku2batch");
    // Each outcome is reported after its whole cascade, whose unit of work wrote the view.
    CHECK(svc.app->allocations("order1") ==
          nlohmann::json::parse(R"([{"sku":"sku1","batchref":"sku1batch"},{"sku":"sku2","batchref":"sku2batch"}])"));
    CHECK_FALSE(svc.app->allocations("no-such-order").has_value());
}

TEST_CASE("bootstrap registers every allocation message by its wire name", "[allocation][service]") {
    alloc_test::service<memory_factory> svc;
    const auto& registry = svc.bus.registry();
    for (const auto* name :
         {"BatchCreated", "AllocationRequired", "BatchQuantityChanged", "Allocated", "Deallocated", "OutOfStock"}) {
        CHECK(registry.find(name) != nullptr);
    }
    CHECK(registry.find("AllocationRequired")->kind == cascade::message_kind::command);
    CHECK(registry.find("OutOfStock")->kind == cascade::message_kind::event);
}

TEST_CASE("the file notifier appends a line per notification", "[allocation][notifications]") {
    const alloc_test::temp_file file{"cascade-notifications"};
    file_notifications notifier{file.path()};
    CHECK_FALSE(std::filesystem::exists(file.path()));  // nothing sent, nothing written
    notifier.send("stock@made.com", "Out of stock for A");
    notifier.send("stock@made.com", "Out of stock for B");
    std::ifstream in{file.path()};
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    REQUIRE(lines.size() == 2);
    CHECK_THAT(lines[0], Catch::EndsWith("\tstock@made.com\tOut of stock for A"));
    CHECK_THAT(lines[1], Catch::EndsWith("\tstock@made.com\tOut of stock for B"));
}

TEST_CASE("bootstrap with the default notifier writes to the configured file", "[allocation][notifications]") {
    const alloc_test::temp_file db;
    const alloc_test::temp_file log{"cascade-notifications"};
    cascade::bus bus{cascade::bus_options{.threads = 1}};
    const auto app =
        bootstrap(bus, {.store = store_kind::sqlite, .db_path = db.path(), .notifications_path = log.path()});
    const auto run = [&](auto msg) {
        return bus.async_submit(cascade::any_message{std::move(msg)}, boost::asio::use_future).get();
    };
    REQUIRE(run(batch_created{"b1", "KETTLE", 1, std::nullopt}).status == cascade::cascade_status::ok);
    REQUIRE(run(allocation_required{"o1", "KETTLE", 2}).result.is_null());
    std::ifstream in{log.path()};
    std::string line;
    REQUIRE(std::getline(in, line));
    CHECK_THAT(line, Catch::EndsWith("Out of stock for KETTLE"));
}
