#pragma once
// Products in a JetStream key-value bucket ("cascade_products"), one entry per SKU holding the
// whole product (product_json.hpp), so that every instance of a cluster works on the same state.
// The entry's revision is the optimistic version check of the book's chapter 7: a unit of work
// writes its product only over the revision it loaded (a product it added, only where the SKU
// has none), and a commit that finds another revision throws concurrency_error. A write is
// atomic for one product, the aggregate being the consistency boundary, and a unit of work on
// this store changes one product at most (std::logic_error otherwise; every handler of the
// domain does). The allocations view holds what this instance committed: it is this instance's
// projection, not the cluster's (that one comes from the cluster's event stream).

#include "allocation/memory_store.hpp"
#include "allocation/store.hpp"

#include <cluster/nats_client.hpp>
#include <cluster/versioned_bucket.hpp>
#include <memory>

namespace allocation {

class kv_store final : public store {
public:
    static constexpr const char* bucket = "cascade_products";

    /// Binds to the bucket, creating it when no instance has yet. Throws cluster::nats_error.
    explicit kv_store(cluster::nats_client& client);

    [[nodiscard]] std::unique_ptr<store_session> open_session(unit_kind kind) override;
    [[nodiscard]] const allocations_view& view() const noexcept override { return view_; }

private:
    class session;

    cluster::versioned_bucket products_;
    memory_allocations_view view_;
};

}  // namespace allocation
