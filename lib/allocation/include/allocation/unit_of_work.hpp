#pragma once
// The unit of work of chapter 6: open it, load or add products through its repository, commit.
// Leaving the scope without commit (or by an exception) rolls everything back.

#include "allocation/repository.hpp"
#include "allocation/store.hpp"

#include <cascade/context.hpp>

#include <memory>
#include <vector>

namespace allocation {

class unit_of_work {
public:
    /// Opens a session on `storage`.
    explicit unit_of_work(store& storage);

    /// Opens a session for the handler of `ctx`: the committed products' events become the
    /// handler's. When the run is journaled in the store's own journal, the commit records it
    /// (with those events and the result set on `ctx`) in the same transaction: the effects and
    /// the record that they happened commit together, so a redelivery does not repeat them. Such
    /// a commit may be written later with other units' (the SQLite store's group commit): the bus
    /// waits for it before the handler's events are routed.
    unit_of_work(store& storage, cascade::context& ctx);

    /// Rolls back unless committed.
    ~unit_of_work();

    unit_of_work(const unit_of_work&) = delete;
    unit_of_work& operator=(const unit_of_work&) = delete;
    unit_of_work(unit_of_work&&) = delete;
    unit_of_work& operator=(unit_of_work&&) = delete;

    [[nodiscard]] repository& products() noexcept { return products_; }

    /// Stores every product seen, and the allocations view changes of their new events (and the
    /// handler's run, when journaled here), all or nothing, and takes those events for collection.
    /// Ends the unit: a second commit is a std::logic_error, and the products seen belong to
    /// the store now (the memory store keeps them rather than copies). Throws concurrency_error
    /// (and whatever the store throws) after rolling back.
    void commit();

    /// Drops the changes and ends the unit; harmless when already ended.
    void rollback() noexcept;

    /// True while the transaction is open.
    [[nodiscard]] bool open() const noexcept { return session_ != nullptr; }

    /// The events of the committed products not yet collected. A rolled-back unit has none:
    /// what it recorded never became true.
    [[nodiscard]] std::vector<cascade::any_message> collect_new_events();

    /// collect_new_events() as a cascade::event_source; it outlives the unit, so the bus may
    /// call it after the handler's scope (and this unit) has ended.
    [[nodiscard]] cascade::event_source event_source() const;

private:
    using event_buffer = std::vector<cascade::any_message>;

    cascade::context* ctx_ = nullptr;         ///< the handler's, when opened for one
    bool journaled_ = false;                  ///< its commit records the handler's run
    std::unique_ptr<store_session> session_;  ///< null once the unit has ended
    repository products_;
    std::shared_ptr<event_buffer> committed_events_ = std::make_shared<event_buffer>();
};

}  // namespace allocation
