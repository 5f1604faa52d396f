#include "allocation/kv_store.hpp"

#include "allocation/errors.hpp"
#include "allocation/product_json.hpp"

#include <map>
#include <stdexcept>
#include <string>

namespace allocation {

/// Remembers the revision of each product it loaded; commit writes over exactly that one.
class kv_store::session final : public store_session {
public:
    explicit session(kv_store& owner) noexcept : owner_{&owner} {}

    std::optional<product> load(std::string_view sku) override {
        auto stored = owner_->products_.get(sku);
        if (!stored) {
            return std::nullopt;
        }
        revisions_.insert_or_assign(std::string{sku}, stored->revision);
        return decode_product(stored->value);
    }

    std::uint64_t commit(std::span<tracked_product* const> products, std::span<const view_change> view_changes,
                         const cascade::handler_run* /*run: this store keeps no journal*/) override {
        if (products.size() > 1) {
            throw std::logic_error{"a unit of work on the key-value store changes one product at most"};
        }
        if (!products.empty()) {
            write(*products.front());
        }
        owner_->view_.apply(view_changes);
        return 0;
    }

    void rollback() noexcept override {}  // nothing is written before commit

private:
    void write(const tracked_product& tracked) {
        const auto& sku = tracked.current.sku();
        const auto document = encode_product(tracked.current);
        const auto loaded = revisions_.find(sku);
        const auto written = tracked.stored_version && loaded != revisions_.end()
                                 ? owner_->products_.update(sku, document, loaded->second)
                                 : owner_->products_.create(sku, document);
        if (!written) {
            throw concurrency_error{sku};
        }
    }

    kv_store* owner_;
    std::map<std::string, std::uint64_t, std::less<>> revisions_;  ///< loaded, by SKU
};

kv_store::kv_store(cluster::nats_client& client) : products_{client, bucket} {}

std::unique_ptr<store_session> kv_store::open_session(unit_kind /*kind*/) {
    return std::make_unique<session>(*this);
}

}  // namespace allocation
