// What the book's synchronous bus cannot do: 1,000 AllocationRequired at once over 10 SKUs, on a
// thread pool, with every product in one SQLite file. Per-SKU lanes keep each product's handlers
// in order, so nothing is over-allocated and no version conflicts; the counts must add up.
#include "support.hpp"

#include <catch2/catch.hpp>

#include <future>
#include <map>
#include <set>

using namespace allocation;
using alloc_test::events_of;

namespace {

constexpr int sku_count = 10;
constexpr int line_count = 1000;
constexpr int in_stock_qty = 120;
constexpr int shipment_qty = 60;

[[nodiscard]] std::string sku_of(int i) {
    return "SKU-" + std::to_string(i % sku_count);
}
[[nodiscard]] int qty_of(int i) {
    return 1 + (i * 7) % 4;
}  // 1..4: about 250 wanted per SKU, 180 in stock

struct tally {
    std::map<std::string, std::string> allocated;  ///< orderid -> batchref
    std::map<std::string, int> out_of_stock;       ///< sku -> lines answered OutOfStock
    int failures = 0;
};

}  // namespace

TEMPLATE_TEST_CASE("1,000 concurrent allocations over 10 SKUs add up", "[allocation][concurrency]",
                   alloc_test::sqlite_factory, alloc_test::memory_factory) {
    alloc_test::service<TestType> svc{4};
    const std::chrono::year_month_day eta{std::chrono::year{2030}, std::chrono::January, std::chrono::day{1}};
    for (int s = 0; s < sku_count; ++s) {
        const auto sku = sku_of(s);
        REQUIRE(svc.run(batch_created{sku + "-ship", sku, shipment_qty, eta}).status == cascade::cascade_status::ok);
        REQUIRE(svc.run(batch_created{sku + "-stock", sku, in_stock_qty, std::nullopt}).status ==
                cascade::cascade_status::ok);
    }

    std::vector<std::future<cascade::outcome>> pending;
    pending.reserve(line_count);
    for (int i = 0; i < line_count; ++i) {
        pending.push_back(svc.bus.async_submit(
            cascade::any_message{allocation_required{"order-" + std::to_string(i), sku_of(i), qty_of(i)}},
            boost::asio::use_future));
    }

    tally seen;
    for (int i = 0; i < line_count; ++i) {
        const auto result = pending[static_cast<std::size_t>(i)].get();
        const auto orderid = "order-" + std::to_string(i);
        const auto allocations = events_of<allocated>(result);
        const auto shortages = events_of<out_of_stock>(result);
        if (result.status != cascade::cascade_status::ok || !result.errors.empty()) {
            ++seen.failures;
        } else if (result.result.is_string() && allocations.size() == 1 && shortages.empty() &&
                   allocations[0] == allocated{orderid, sku_of(i), qty_of(i), result.result.get<std::string>()}) {
            seen.allocated.emplace(orderid, result.result.get<std::string>());
        } else if (result.result.is_null() && allocations.empty() && shortages.size() == 1) {
            ++seen.out_of_stock[sku_of(i)];
        } else {
            ++seen.failures;  // an answer that is neither one allocation nor one OutOfStock
        }
    }
    REQUIRE(svc.bus.wait_idle(alloc_test::generous));

    CHECK(seen.failures == 0);
    CHECK(svc.bus.metrics().failed == 0);  // no version conflict, no handler failure at all
    int total_out_of_stock = 0;
    for (const auto& [sku, count] : seen.out_of_stock) {
        total_out_of_stock += count;
    }
    CHECK(total_out_of_stock > 0);  // demand exceeds stock: both answers occur
    CHECK(static_cast<int>(seen.allocated.size()) + total_out_of_stock == line_count);
    CHECK(static_cast<int>(svc.notifier->sent().size()) == total_out_of_stock);

    std::set<std::string> stored_lines;
    for (int s = 0; s < sku_count; ++s) {
        const auto stored = alloc_test::stored_product(svc.app->storage(), sku_of(s));
        REQUIRE(stored.has_value());
        int lines_of_sku = 0;
        for (const batch& b : stored->batches()) {
            CHECK(b.allocated_quantity() <= b.purchased_quantity());  // never over-allocated
            for (const order_line& line : b.allocations().lines()) {
                CHECK(stored_lines.insert(line.orderid).second);  // allocated exactly once
                CHECK(seen.allocated.at(line.orderid) == b.reference());
                ++lines_of_sku;
            }
        }
        CHECK(stored->version_number() == lines_of_sku);  // one increment per allocation, none lost
        // Out of stock only once the in-stock batch and the shipment were too full for some line.
        if (seen.out_of_stock.contains(sku_of(s))) {
            CHECK(stored->find_batch(sku_of(s) + "-stock")->available_quantity() < 4);
            CHECK(stored->find_batch(sku_of(s) + "-ship")->available_quantity() < 4);
        }
    }
    CHECK(stored_lines.size() == seen.allocated.size());

    for (const auto& [orderid, batchref] : seen.allocated) {
        const auto view = svc.app->allocations(orderid);
        REQUIRE(view.has_value());
        CHECK((*view)[0]["batchref"] == batchref);
    }
}
