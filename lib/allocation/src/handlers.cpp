#include "allocation/handlers.hpp"

#include "allocation/errors.hpp"
#include "allocation/notifications.hpp"
#include "allocation/store.hpp"
#include "allocation/unit_of_work.hpp"

#include <string>

namespace allocation::handlers {
namespace {

/// The book's allocate service, shared by the command and by reallocation.
[[nodiscard]] std::optional<std::string> allocate_line(cascade::context& ctx, order_line line) {
    unit_of_work uow{ctx.get<store>(), ctx};
    product* p = uow.products().get(line.sku);
    if (p == nullptr) {
        throw invalid_sku{line.sku};
    }
    auto batchref = p->allocate(line);
    // Before the commit: a journaled run keeps the command's result with its effects.
    ctx.set_result(batchref ? nlohmann::json(*batchref) : nlohmann::json(nullptr));
    uow.commit();
    return batchref;
}

}  // namespace

boost::asio::awaitable<void> add_batch(const batch_created& cmd, cascade::context& ctx) {
    unit_of_work uow{ctx.get<store>(), ctx};
    product* p = uow.products().get(cmd.sku);
    if (p == nullptr) {
        p = &uow.products().add(product{cmd.sku});
    }
    p->add_batch(batch{cmd.ref, cmd.sku, cmd.qty, cmd.eta});
    uow.commit();
    co_return;
}

boost::asio::awaitable<nlohmann::json> allocate(const allocation_required& cmd, cascade::context& ctx) {
    const auto batchref = allocate_line(ctx, order_line{cmd.orderid, cmd.sku, cmd.qty});
    co_return batchref ? nlohmann::json(*batchref) : nlohmann::json(nullptr);
}

boost::asio::awaitable<void> change_batch_quantity(const batch_quantity_changed& cmd, cascade::context& ctx) {
    unit_of_work uow{ctx.get<store>(), ctx};
    product* p = uow.products().get(cmd.sku);
    if (p == nullptr) {
        throw invalid_sku{cmd.sku};
    }
    p->change_batch_quantity(cmd.ref, cmd.qty);
    uow.commit();
    co_return;
}

boost::asio::awaitable<void> reallocate(const deallocated& evt, cascade::context& ctx) {
    static_cast<void>(allocate_line(ctx, order_line{evt.orderid, evt.sku, evt.qty}));
    co_return;
}

boost::asio::awaitable<void> send_out_of_stock_notification(const out_of_stock& evt, cascade::context& ctx) {
    ctx.get<notifications>().send(stock_destination, "Out of stock for " + evt.sku);
    co_return;
}

}  // namespace allocation::handlers
