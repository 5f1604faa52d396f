#pragma once
// What a store (in memory or SQLite) offers: sessions for units of work, and the read model.

#include "allocation/repository.hpp"
#include "allocation/views.hpp"

#include <cascade/journal.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

namespace allocation {

enum class store_kind : std::uint8_t { memory, sqlite };

/// What a unit of work commits: its changes alone, or with its handler's run, recorded in the
/// store's own journal (store::journal()).
enum class unit_kind : std::uint8_t { alone, journaled };

/// One store's side of a unit of work: an open transaction that loads products and writes them
/// back. Not thread-safe: one unit of work uses it at a time.
class store_session {
public:
    virtual ~store_session() = default;  ///< rolls back what is neither committed nor rolled back

    /// The stored product of `sku`, or std::nullopt.
    [[nodiscard]] virtual std::optional<product> load(std::string_view sku) = 0;

    /// Writes the products and the view changes their events imply, and commits, all or
    /// nothing; it may move from the products once it succeeds (their events were taken before).
    /// concurrency_error when one was changed by someone else since it was loaded (or was added
    /// by someone else meanwhile).
    /// `run`, when set, is the handler's run to record in the same transaction (only a store
    /// whose journal() holds it is given one). A journaled session's commit may be queued, to be
    /// written later with other units in one transaction: it then returns a ticket for the bus to
    /// wait for (cascade::journal::flush), and a conflict is reported there, not thrown here;
    /// 0 when it is committed already.
    [[nodiscard]] virtual std::uint64_t commit(std::span<tracked_product* const> products,
                                               std::span<const view_change> view_changes,
                                               const cascade::handler_run* run) = 0;

    /// Drops everything; harmless when already finished.
    virtual void rollback() noexcept = 0;

protected:
    store_session() = default;
    store_session(const store_session&) = default;
    store_session& operator=(const store_session&) = default;
};

/// A store of products and of the allocations view. Thread-safe: every unit of work opens its
/// own session.
class store {
public:
    virtual ~store() = default;

    /// Starts a transaction for one unit of work of that kind.
    [[nodiscard]] virtual std::unique_ptr<store_session> open_session(unit_kind kind) = 0;

    /// The allocations read model kept beside the products, as committed.
    [[nodiscard]] virtual const allocations_view& view() const noexcept = 0;

    /// A journal kept in the store: a unit of work whose handler's run is journaled there
    /// records the run in the transaction of its commit. Null when the store keeps none.
    [[nodiscard]] virtual const std::shared_ptr<cascade::journal>& journal() const noexcept;

protected:
    store() = default;
    store(const store&) = default;
    store& operator=(const store&) = default;
};

}  // namespace allocation
