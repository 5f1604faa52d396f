// The journal in the SQLite store's file: a unit of work records its handler's run in the
// transaction that writes its effects (group_commit_test.cpp: how the journal's writer writes
// many units in one), and a bus started on a file a
// crash left behind completes what it finds there, without running again what was committed. A crash is played by
// editing the file to the state the process would have left at that point.
#include "support.hpp"

#include <allocation/bootstrap.hpp>
#include <allocation/errors.hpp>
#include <allocation/messages.hpp>

#include <SQLiteCpp/SQLiteCpp.h>
#include <boost/asio/use_future.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <sqlite3.h>
#include <stdexcept>
#include <string>
#include <thread>

using namespace allocation;
using alloc_test::count;
using alloc_test::eventually;
using cascade::any_message;
using cascade::cascade_status;
using json = nlohmann::json;

namespace {

/// A bus with the allocation domain on the SQLite file, journaled.
struct service {
    explicit service(const std::filesystem::path& db)
        : app{bootstrap(bus, {.store = store_kind::sqlite,
                              .db_path = db,
                              .notifier = std::make_shared<alloc_test::recording_notifications>()})} {}

    template <class M>
    cascade::outcome run(M msg) {
        return bus.async_submit(any_message{std::move(msg)}, boost::asio::use_future).get();
    }

    cascade::bus bus{{.threads = 2}};
    std::shared_ptr<application> app;
};

/// The recorded outcome of submit `id`, once the journal has it.
[[nodiscard]] json recorded_outcome(const std::filesystem::path& db, cascade::message_id id) {
    json outcome;
    const bool recorded = eventually([&] {
        SQLite::Database file{db.string(), SQLite::OPEN_READONLY};
        SQLite::Statement query{file, "SELECT outcome FROM journal_submits WHERE id = ?1"};
        query.bind(1, static_cast<std::int64_t>(id));
        if (!query.executeStep() || query.getColumn(0).isNull()) {
            return false;
        }
        outcome = json::parse(query.getColumn(0).getString());
        return true;
    });
    REQUIRE(recorded);
    return outcome;
}

}  // namespace

TEST_CASE("a unit of work records its run with its effects, a recovered bus does not run it again", "[journal]") {
    alloc_test::temp_file db;
    cascade::message_id order_id = 0;
    std::int64_t version_after = 0;
    {
        service first{db.path()};
        CHECK(first.bus.durable());
        REQUIRE(first.run(batch_created{"b1", "LAMP", 20, std::nullopt}).status == cascade_status::ok);
        const auto done = first.run(allocation_required{"o1", "LAMP", 2});
        REQUIRE(done.status == cascade_status::ok);
        CHECK(done.result == "b1");
        order_id = done.id;
        (void)recorded_outcome(db.path(), order_id);
        version_after = alloc_test::stored_product(first.app->storage(), "LAMP")->version_number();
    }
    SQLite::Database file{db.path().string(), SQLite::OPEN_READWRITE};
    SQLite::Statement run{file,
                          "SELECT result, raised FROM journal_runs WHERE message_id = ?1 AND handler = 'allocate'"};
    run.bind(1, static_cast<std::int64_t>(order_id));
    REQUIRE(run.executeStep());
    CHECK(json::parse(run.getColumn(0).getString()) == "b1");
    const auto raised = json::parse(run.getColumn(1).getString());
    REQUIRE(raised.size() == 1);
    CHECK(raised[0]["name"] == "Allocated");

    // The process died after the handler's commit, before the outcome was recorded.
    file.exec("UPDATE journal_submits SET outcome = NULL, finished_ms = NULL WHERE id = " + std::to_string(order_id));
    service second{db.path()};
    CHECK(second.app->resumed() == 1);
    const auto outcome = recorded_outcome(db.path(), order_id);
    CHECK(outcome["status"] == "ok");
    CHECK(outcome["result"] == "b1");  // the recorded result: the handler did not run again
    REQUIRE(outcome["events"].size() == 1);
    CHECK(outcome["events"][0]["name"] == "Allocated");
    CHECK(outcome["events"][0]["id"] == std::to_string(raised[0]["id"].get<cascade::message_id>()));
    CHECK(second.bus.metrics().replayed >= 1);
    CHECK(alloc_test::stored_product(second.app->storage(), "LAMP")->version_number() == version_after);
    CHECK(count(db.path(), "SELECT COUNT(*) FROM allocations WHERE orderid = 'o1'") == 1);
    CHECK(second.app->allocations("o1").has_value());
}

TEST_CASE("a submit appended before the crash runs once on the next start", "[journal]") {
    alloc_test::temp_file db;
    {
        service first{db.path()};
        REQUIRE(first.run(batch_created{"b1", "LAMP", 20, std::nullopt}).status == cascade_status::ok);
    }
    {
        // The process died after the append committed, before the handler ran: the ack was sent.
        SQLite::Database file{db.path().string(), SQLite::OPEN_READWRITE};
        file.exec(R"(INSERT INTO journal_submits (id, key, name, data, accepted_ms) VALUES (1000000, 'c9',
                     'AllocationRequired', '{"orderid":"o9","sku":"LAMP","qty":3}', 0))");
    }
    service second{db.path()};
    CHECK(second.app->resumed() == 1);
    const auto outcome = recorded_outcome(db.path(), 1'000'000);
    CHECK(outcome["status"] == "ok");
    CHECK(outcome["result"] == "b1");
    CHECK(count(db.path(), "SELECT COUNT(*) FROM allocations WHERE orderid = 'o9'") == 1);
    CHECK(second.app->allocations("o9").has_value());
    // Its key answers with the record, once the bus has heard the outcome's commit (the row can
    // be read a moment before); a new submit's id is above the journal's.
    std::optional<cascade::keyed_submit> known;
    REQUIRE(eventually([&] {
        known = second.bus.find_submit("c9");
        return known && known->finished;
    }));
    CHECK(known->finished->result == "b1");
    const auto next = second.run(allocation_required{"o10", "LAMP", 1});
    CHECK(next.id > 1'000'000);
}

TEST_CASE("a store without a journal leaves the bus unjournaled", "[journal]") {
    alloc_test::temp_file db;
    cascade::bus bus{{.threads = 1}};
    const auto app = bootstrap(bus, {.store = store_kind::sqlite,
                                     .db_path = db.path(),
                                     .notifier = std::make_shared<alloc_test::recording_notifications>(),
                                     .journal = false});
    CHECK_FALSE(bus.journaled());
    cascade::bus memory_bus{{.threads = 1}};
    const auto memory_app = bootstrap(
        memory_bus, {.store = store_kind::memory, .notifier = std::make_shared<alloc_test::recording_notifications>()});
    CHECK_FALSE(memory_bus.journaled());
    CHECK_FALSE(memory_bus.durable());
}

namespace {
/// The outcome of a submit made now as `principal` under `key`; the test fails if it is refused.
[[nodiscard]] cascade::outcome run_as(cascade::bus& bus, any_message msg, const std::string& key,
                                      const std::string& principal) {
    auto done = std::make_shared<std::promise<cascade::outcome>>();
    auto outcome = done->get_future();
    const auto admitted =
        bus.try_submit(std::move(msg), {.on_done = [done](cascade::outcome out) { done->set_value(std::move(out)); }},
                       {.key = key, .principal = principal});
    REQUIRE(admitted);
    REQUIRE(outcome.wait_for(alloc_test::generous) == std::future_status::ready);
    return outcome.get();
}

[[nodiscard]] std::string text(const std::filesystem::path& db, const std::string& sql) {
    SQLite::Database file{db.string(), SQLite::OPEN_READONLY};
    return file.execAndGet(sql).getString();
}
}  // namespace

TEST_CASE("a submit's principal is journaled in SQLite, and its cascade resumed after a crash keeps it",
          "[journal][principal]") {
    alloc_test::temp_file db;
    cascade::message_id order_id = 0;
    {
        service first{db.path()};
        REQUIRE(first.run(batch_created{"b1", "LAMP", 20, std::nullopt}).status == cascade_status::ok);
        const auto done = run_as(first.bus, any_message{allocation_required{"o1", "LAMP", 2}}, "c1", "alice");
        REQUIRE(done.status == cascade_status::ok);
        REQUIRE(done.events.size() == 1);
        CHECK(done.events[0].principal == "alice");
        order_id = done.id;
        CHECK(recorded_outcome(db.path(), order_id)["events"][0]["principal"] == "alice");
    }
    CHECK(text(db.path(), "SELECT principal FROM journal_submits WHERE id = " + std::to_string(order_id)) == "alice");
    CHECK(text(db.path(), "SELECT principal FROM journal_submits WHERE key IS NULL") == "");  // the batch's

    // The process died after the handler's commit, before the outcome was recorded: the recorded
    // run's events are delivered again, under the envelope recovery rebuilt.
    {
        SQLite::Database file{db.path().string(), SQLite::OPEN_READWRITE};
        file.exec("UPDATE journal_submits SET outcome = NULL, finished_ms = NULL WHERE id = " +
                  std::to_string(order_id));
    }
    service second{db.path()};
    CHECK(second.app->resumed() == 1);
    const auto outcome = recorded_outcome(db.path(), order_id);
    REQUIRE(outcome["events"].size() == 1);
    CHECK(outcome["events"][0]["principal"] == "alice");
    const auto known = second.bus.find_submit("c1");
    REQUIRE(known);
    CHECK(known->submit.principal == "alice");
}

TEST_CASE("a dead letter kept in the SQLite journal keeps its principal across a reopen", "[journal][principal]") {
    alloc_test::temp_file db;
    std::atomic<bool> failing{true};
    std::mutex mutex;
    std::string retried_as = "(no run)";
    const auto wire = [&](cascade::bus& bus, const sqlite_store& storage) {
        bus.subscribe<out_of_stock>(
            "page_buyer",
            [&](const out_of_stock&, cascade::context& ctx) -> boost::asio::awaitable<void> {
                if (failing) {
                    throw std::runtime_error{"the pager is down"};
                }
                const std::scoped_lock lock{mutex};
                retried_as = ctx.envelope().principal;
                co_return;
            },
            cascade::retry_policy::no_retry());
        bus.use_journal(storage.journal());
        REQUIRE(bus.recover() == 0);
    };
    std::uint64_t letter = 0;
    {
        const sqlite_store storage{db.path()};
        cascade::bus bus{{.threads = 1}};  // after the store: gone first, with its journal writes done
        wire(bus, storage);
        const auto done = run_as(bus, any_message{out_of_stock{"LAMP"}}, "", "alice");
        REQUIRE(done.status == cascade_status::partial);
        const auto letters = bus.dead_letters();
        REQUIRE(letters.size() == 1);
        CHECK(letters[0].message.principal == "alice");
        letter = letters[0].id;
    }
    CHECK(count(db.path(), "SELECT COUNT(*) FROM journal_letters") == 1);
    const sqlite_store storage{db.path()};
    cascade::bus bus{{.threads = 1}};
    wire(bus, storage);
    const auto kept = bus.dead_letters();
    REQUIRE(kept.size() == 1);
    CHECK(kept[0].id == letter);
    CHECK(kept[0].message.principal == "alice");
    failing = false;
    auto done = std::make_shared<std::promise<cascade::outcome>>();
    auto retried = done->get_future();
    const auto admitted =
        bus.retry_dead_letter(letter, {.on_done = [done](cascade::outcome out) { done->set_value(std::move(out)); }});
    REQUIRE(admitted);
    REQUIRE(*admitted);
    REQUIRE(retried.wait_for(alloc_test::generous) == std::future_status::ready);
    CHECK(retried.get().status == cascade_status::ok);
    const std::scoped_lock lock{mutex};
    CHECK(retried_as == "alice");
}

// A file written before submits recorded their principal (schema 3): its journal_submits gets the
// column when the store opens it, and what it holds still recovers, with no principal.
TEST_CASE("an SQLite journal of the schema before principals is upgraded, and keeps working", "[journal][principal]") {
    alloc_test::temp_file db;
    {
        SQLite::Database file{db.path().string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE};
        // journal_submits exactly as schema 3 created it, with a submit a crash left unfinished.
        file.exec(R"sql(
CREATE TABLE IF NOT EXISTS journal_submits (
    id          INTEGER PRIMARY KEY,
    key         TEXT UNIQUE,
    name        TEXT NOT NULL,
    data        TEXT NOT NULL,
    accepted_ms INTEGER NOT NULL,
    outcome     TEXT,
    finished_ms INTEGER
);
INSERT INTO journal_submits (id, key, name, data, accepted_ms)
    VALUES (500, 'c1', 'BatchCreated', '{"ref":"b1","sku":"LAMP","qty":20,"eta":null}', 0);
PRAGMA user_version = 3;
)sql");
    }
    {
        service upgraded{db.path()};
        CHECK(count(db.path(), "PRAGMA user_version") == 4);
        CHECK(count(db.path(), "SELECT COUNT(*) FROM pragma_table_info('journal_submits') WHERE name = 'principal'") ==
              1);
        CHECK(upgraded.app->resumed() == 1);
        CHECK(recorded_outcome(db.path(), 500)["status"] == "ok");
        const auto old = upgraded.bus.find_submit("c1");
        REQUIRE(old);
        CHECK(old->submit.principal.empty());

        const auto done = run_as(upgraded.bus, any_message{allocation_required{"o1", "LAMP", 2}}, "c2", "bob");
        REQUIRE(done.status == cascade_status::ok);
        CHECK(done.result == "b1");
        CHECK(text(db.path(), "SELECT principal FROM journal_submits WHERE key = 'c2'") == "bob");
    }
    service reopened{db.path()};  // upgraded already: opening it again changes nothing
    CHECK(reopened.app->resumed() == 0);
    const auto known = reopened.bus.find_submit("c2");
    REQUIRE(known);
    CHECK(known->submit.principal == "bob");
    REQUIRE(known->finished);
    REQUIRE(known->finished->events.size() == 1);
    CHECK(known->finished->events[0].principal == "bob");
}
