#include "allocation/bootstrap.hpp"

#include "allocation/handlers.hpp"
#include "allocation/memory_store.hpp"
#include "allocation/messages.hpp"
#include "allocation/sqlite_store.hpp"

namespace allocation {

std::optional<nlohmann::json> application::allocations(std::string_view orderid) const {
    const auto rows = store_->view().find(orderid);
    if (rows.empty()) {
        return std::nullopt;
    }
    auto result = nlohmann::json::array();
    for (const auto& row : rows) {
        result.push_back({{"sku", row.sku}, {"batchref", row.batchref}});
    }
    return result;
}

std::shared_ptr<store> make_store(store_kind kind, const std::filesystem::path& db_path, sqlite_sync sync) {
    return make_store(kind, sqlite_options{.path = db_path, .sync = sync});
}

std::shared_ptr<store> make_store(store_kind kind, const sqlite_options& sqlite) {
    if (kind == store_kind::memory) {
        return std::make_shared<memory_store>();
    }
    return std::make_shared<sqlite_store>(sqlite);
}

std::shared_ptr<application> bootstrap(cascade::bus& bus, bootstrap_options options) {
    auto storage = make_store(options.store, sqlite_options{.path = options.db_path,
                                                            .sync = options.sync,
                                                            .group_commit_records = options.group_commit_records});
    auto notifier = options.notifier ? std::move(options.notifier)
                                     : std::make_shared<file_notifications>(options.notifications_path);
    bus.dependencies().provide<store>(storage);
    bus.dependencies().provide<notifications>(notifier);

    bus.handle<batch_created>("add_batch", &handlers::add_batch);
    bus.handle<allocation_required>("allocate", &handlers::allocate);
    bus.handle<batch_quantity_changed>("change_batch_quantity", &handlers::change_batch_quantity);
    // No read-model handlers: each unit of work writes the view with its products (views.hpp).
    // Allocated has no handler, yet clients name it (subscriptions, submits): register it.
    bus.declare<allocated>();
    bus.subscribe<deallocated>("reallocate", &handlers::reallocate);
    // Outside the store: at least once (a crash between the send and its record repeats it).
    bus.subscribe<out_of_stock>("send_out_of_stock_notification", &handlers::send_out_of_stock_notification);

    std::size_t resumed = 0;
    if (options.journal && storage->journal()) {
        bus.use_journal(storage->journal());
        resumed = bus.recover();
    }
    return std::make_shared<application>(std::move(storage), std::move(notifier), resumed);
}

}  // namespace allocation
