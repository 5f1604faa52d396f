// The SQLite journal's writer and the journaled units of work it writes, run by hand as the bus
// runs them: many units to a transaction, each in a savepoint of its own, so that a conflict
// fails its unit alone; tickets that tell the bus what became of each; reads that never wait for
// the write lock.
#include "support.hpp"

#include <allocation/errors.hpp>
#include <allocation/messages.hpp>

#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>

#include <exception>
#include <future>
#include <memory>
#include <sqlite3.h>
#include <string>

using namespace allocation;
using alloc_test::count;
using alloc_test::eventually;
using alloc_test::rethrow_failure;
using cascade::any_message;

namespace {
/// Ids for runs prepared outside a bus.
class counting_ids final : public cascade::detail::id_allocator {
public:
    [[nodiscard]] cascade::message_id next_id() noexcept override { return ++last_; }

private:
    cascade::message_id last_ = 5'000'000;
};

/// A SQLite store with a LAMP and a DESK batch, and journaled units of work run by hand as the
/// bus runs them for a handler's run.
class hand_run {
public:
    explicit hand_run(sqlite_options options = {}) : storage{with_path(std::move(options))} {
        unit_of_work uow{storage};
        uow.products().add(product{"LAMP"}).add_batch(batch{"b1", "LAMP", 20, std::nullopt});
        uow.products().add(product{"DESK"}).add_batch(batch{"d1", "DESK", 20, std::nullopt});
        uow.commit();
    }

    /// The unit of work of message `id`'s run, open until commit().
    class open_unit {
    public:
        open_unit(hand_run& owner, cascade::message_id id, any_message message)
            : incoming_{.id = id,
                        .causation_id = 0,
                        .correlation_id = id,
                        .depth = 0,
                        .timestamp = {},
                        .message = std::move(message)},
              ctx_{incoming_,
                   owner.dependencies_,
                   1,
                   {.journal = owner.storage.journal().get(), .ids = &owner.ids_, .handler = "by-hand"}},
              uow_{owner.storage, ctx_} {}

        [[nodiscard]] product& get(const std::string& sku) {
            product* p = uow_.products().get(sku);
            REQUIRE(p != nullptr);
            return *p;
        }

        /// Commits; returns the ticket the bus would flush.
        std::uint64_t commit() {
            uow_.commit();
            return ctx_.take_recorded_run()->batch;
        }

    private:
        cascade::envelope incoming_;
        cascade::context ctx_;
        unit_of_work uow_;
    };

    /// Order `orderid` allocated (one unit) as message `id`, its unit open.
    std::unique_ptr<open_unit> open_allocation(cascade::message_id id, const std::string& orderid,
                                               const std::string& sku = "LAMP") {
        auto unit = std::make_unique<open_unit>(*this, id, any_message{allocation_required{orderid, sku, 1}});
        (void)unit->get(sku).allocate(order_line{orderid, sku, 1});
        return unit;
    }

    /// Allocates order `orderid` of `sku` as message `id`; returns the ticket of its run.
    std::uint64_t allocate(cascade::message_id id, const std::string& orderid, const std::string& sku = "LAMP") {
        return open_allocation(id, orderid, sku)->commit();
    }

    /// What the journal says of the ticket once it is written: null when it committed.
    std::exception_ptr flush(std::uint64_t ticket) {
        std::promise<std::exception_ptr> flushed;
        storage.journal()->flush(ticket, [&](std::exception_ptr failed) { flushed.set_value(std::move(failed)); });
        return flushed.get_future().get();
    }

    alloc_test::temp_file db;
    sqlite_store storage;

private:
    [[nodiscard]] sqlite_options with_path(sqlite_options options) const {
        options.path = db.path();
        return options;
    }

    cascade::services dependencies_;
    counting_ids ids_;
};

/// The SQLite error code of what failed, or 0.
[[nodiscard]] int sqlite_code(const std::exception_ptr& failed) {
    try {
        rethrow_failure(failed);
    } catch (const SQLite::Exception& e) {
        return e.getErrorCode();
    } catch (...) {
        return -1;
    }
    return 0;
}
}  // namespace

TEST_CASE("a unit of work cannot record one run twice: the second commit fails and applies nothing", "[journal]") {
    hand_run run;
    const auto ticket = run.allocate(77, "o1");
    CHECK(ticket != 0);  // queued for the journal's writer, which commits it with others
    REQUIRE(run.flush(ticket) == nullptr);
    CHECK(count(run.db.path(), "SELECT COUNT(*) FROM journal_runs WHERE message_id = 77") == 1);
    const auto version = alloc_test::stored_product(run.storage, "LAMP")->version_number();
    // A retry of the same run (the handler failed after its commit, say) must not apply it again:
    // its run's row is there already.
    CHECK(sqlite_code(run.flush(run.allocate(77, "o1"))) == SQLITE_CONSTRAINT);
    CHECK(alloc_test::stored_product(run.storage, "LAMP")->version_number() == version);
    CHECK(count(run.db.path(), "SELECT COUNT(*) FROM journal_runs WHERE message_id = 77") == 1);
    CHECK(count(run.db.path(), "SELECT COUNT(*) FROM allocations WHERE orderid = 'o1'") == 1);
}

TEST_CASE("a unit of work is committed all the same when nobody waits for it", "[journal]") {
    // A handler that fails after its unit of work committed (or is cut by a shutdown) never
    // flushes its ticket: the journal's writer writes it anyway.
    hand_run run;
    REQUIRE(run.allocate(91, "o2") != 0);
    CHECK(eventually([&] {
        return count(run.db.path(), "SELECT COUNT(*) FROM journal_runs WHERE message_id = 91") == 1 &&
               count(run.db.path(), "SELECT COUNT(*) FROM allocations WHERE orderid = 'o2'") == 1;
    }));
}

TEST_CASE("units of work written together: a conflict fails its own unit, not the others in the transaction",
          "[journal]") {
    // The writer waits for three records before it writes: the three units share one transaction.
    hand_run run{{.group_commit_records = 3, .group_commit_wait = alloc_test::generous}};
    // Both load LAMP at the same version; the first to be written wins, the second conflicts.
    auto first = run.open_allocation(101, "o-first");
    auto stale = run.open_allocation(102, "o-stale");
    const auto desk = run.allocate(103, "o-desk", "DESK");
    const auto first_ticket = first->commit();
    const auto stale_ticket = stale->commit();
    CHECK(first_ticket < stale_ticket);
    CHECK(run.flush(desk) == nullptr);
    CHECK(run.flush(first_ticket) == nullptr);
    CHECK_THROWS_AS(rethrow_failure(run.flush(stale_ticket)), concurrency_error);
    // Flushed again, a ticket is answered from what became of it.
    CHECK(run.flush(first_ticket) == nullptr);
    CHECK_THROWS_AS(rethrow_failure(run.flush(stale_ticket)), concurrency_error);
    CHECK(count(run.db.path(), "SELECT COUNT(*) FROM allocations WHERE orderid IN ('o-first', 'o-desk')") == 2);
    CHECK(count(run.db.path(), "SELECT COUNT(*) FROM allocations WHERE orderid = 'o-stale'") == 0);
    CHECK(count(run.db.path(), "SELECT COUNT(*) FROM allocations_view WHERE orderid = 'o-stale'") == 0);
    CHECK(count(run.db.path(), "SELECT COUNT(*) FROM journal_runs WHERE message_id = 102") == 0);
    CHECK(count(run.db.path(), "SELECT COUNT(*) FROM journal_runs WHERE message_id IN (101, 103)") == 2);
}

TEST_CASE("a stale unit of work cannot overwrite a batch whose quantity changed since it read it", "[journal]") {
    // Only allocations bump a product's version: the batch's own row is what catches this.
    hand_run run;
    hand_run::open_unit grow{run, 121, any_message{batch_quantity_changed{"b1", "LAMP", 30}}};
    hand_run::open_unit shrink{run, 122, any_message{batch_quantity_changed{"b1", "LAMP", 5}}};
    grow.get("LAMP").change_batch_quantity("b1", 30);
    shrink.get("LAMP").change_batch_quantity("b1", 5);
    CHECK(run.flush(grow.commit()) == nullptr);
    CHECK_THROWS_AS(rethrow_failure(run.flush(shrink.commit())), concurrency_error);
    CHECK(alloc_test::stored_product(run.storage, "LAMP")->find_batch("b1")->purchased_quantity() == 30);
}

TEST_CASE("a journaled unit of work reads without waiting for a unit alone that holds the write lock", "[journal]") {
    hand_run run;
    unit_of_work alone{run.storage};
    REQUIRE(alone.products().get("DESK") != nullptr);  // holds the write lock until it ends
    // Opened and committed on another thread: a wait for the lock would time out there, not hang here.
    auto reading = std::async(std::launch::async, [&run] { return run.allocate(111, "o-read"); });
    REQUIRE(reading.wait_for(alloc_test::generous) == std::future_status::ready);
    const auto ticket = reading.get();
    alone.rollback();  // only now can the writer write it
    CHECK(run.flush(ticket) == nullptr);
    CHECK(count(run.db.path(), "SELECT COUNT(*) FROM allocations WHERE orderid = 'o-read'") == 1);
}
