// The journal: an acknowledged cascade completes after a crash, exactly once in the effects of
// handlers whose store holds the journal; keys are idempotent. A crash is a severed memory journal:
// the first bus dies with whatever it was doing, and a second bus on the same journal recovers.
#include "test_domain.hpp"

#include <cascade/memory_journal.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

using namespace test_domain;
using cascade::admission;
using cascade::cascade_status;
using cascade::context;
using cascade::memory_journal;

namespace {

/// Adds `amount` to the account `key` and raises `notes` Noted events.
struct deposit {
    static constexpr std::string_view name = "Deposit";
    static constexpr message_kind kind = message_kind::command;
    std::string key;
    int amount{};
    int notes{};
    [[nodiscard]] std::string_view aggregate() const noexcept { return key; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(deposit, key, amount, notes)

/// Accounts kept by a store that holds the journal (balances and note counts change exactly
/// once), and a tally kept outside it (at least once). Outlives the buses of one test, as a
/// database outlives the processes that crash on it.
class accounts {
public:
    explicit accounts(std::shared_ptr<memory_journal> journal) : journal_{std::move(journal)} {}

    /// Registers the handlers and the journal on `bus`.
    void wire(cascade::bus& bus) {
        bus.handle<deposit>("deposit", [this](const deposit& d, context& ctx) -> asio::awaitable<void> {
            co_await stall_point("deposit");
            std::vector<cascade::any_message> raised;
            for (int i = 0; i < d.notes; ++i) {
                raised.emplace_back(noted{.key = d.key + "/" + std::to_string(i), .seq = i});
            }
            const std::string key = d.key;
            const int amount = d.amount;
            seen_principal("deposit " + key, ctx);
            ctx.set_result(amount);
            commit(ctx, raised, [this, key, amount] {
                balances_[key] += amount;
                ++deposits_;
            });
        });
        bus.subscribe<noted>(
            "count_note",
            [this](const noted& n, context& ctx) -> asio::awaitable<void> {
                co_await stall_point("count_note");
                const std::string key = n.key;
                seen_principal("count_note " + key, ctx);
                commit(ctx, {}, [this, key] { ++notes_[key]; });
            },
            cascade::retry_policy::no_retry());
        bus.subscribe<noted>(
            "tally",
            [this](const noted&, context&) -> asio::awaitable<void> {
                co_await stall_point("tally");
                ++tallies_;
            },
            cascade::retry_policy::no_retry());
        bus.use_journal(journal_);
    }

    /// From now on the named handler's runs stop before their effects, until their bus goes away.
    void stall(const std::string& handler) {
        const std::scoped_lock lock{mutex_};
        stalled_ = handler;
    }
    void unstall() {
        const std::scoped_lock lock{mutex_};
        stalled_.reset();
    }
    [[nodiscard]] int stalled_runs() const { return stalled_runs_.load(); }

    [[nodiscard]] int balance(const std::string& key) const {
        const std::scoped_lock lock{mutex_};
        const auto it = balances_.find(key);
        return it == balances_.end() ? 0 : it->second;
    }
    [[nodiscard]] int notes(const std::string& key) const {
        const std::scoped_lock lock{mutex_};
        const auto it = notes_.find(key);
        return it == notes_.end() ? 0 : it->second;
    }
    [[nodiscard]] int deposits() const {
        const std::scoped_lock lock{mutex_};
        return deposits_;
    }
    [[nodiscard]] int tallies() const { return tallies_.load(); }
    /// The principal of the last run of `handler` on the account or note `key`.
    [[nodiscard]] std::string principal_of(const std::string& handler, const std::string& key) const {
        const std::scoped_lock lock{mutex_};
        const auto it = principals_.find(handler + " " + key);
        return it == principals_.end() ? "(no run)" : it->second;
    }

private:
    /// The effects and the run's record in one transaction of the store that holds the journal.
    void commit(context& ctx, const std::vector<cascade::any_message>& raised, const std::function<void()>& effects) {
        if (ctx.journal() != journal_.get()) {
            throw std::logic_error{"the run is not journaled in the accounts' journal"};
        }
        auto run = ctx.prepare_run(raised);
        journal_->commit_run(run, [&] {
            const std::scoped_lock lock{mutex_};
            effects();
        });
        ctx.run_recorded(std::move(run));
    }

    void seen_principal(const std::string& run, const context& ctx) {
        const std::scoped_lock lock{mutex_};
        principals_[run] = ctx.envelope().principal;
    }

    asio::awaitable<void> stall_point(const std::string& handler) {
        bool stall = false;
        {
            const std::scoped_lock lock{mutex_};
            stall = stalled_ == handler;
        }
        if (stall) {
            ++stalled_runs_;
            // A timer of the bus's own pool: the run ends only when the bus is destroyed with it.
            co_await pause(std::chrono::hours{24});
        }
    }

    std::shared_ptr<memory_journal> journal_;
    mutable std::mutex mutex_;
    std::map<std::string, int> balances_;
    std::map<std::string, int> notes_;
    std::map<std::string, std::string> principals_;
    int deposits_ = 0;
    std::optional<std::string> stalled_;
    std::atomic<int> tallies_{0};
    std::atomic<int> stalled_runs_{0};
};

/// What one keyed submit was told.
struct told {
    std::atomic<int> recorded{0};
    std::atomic<bool> replay{false};
    std::promise<cascade::outcome> done;
    std::vector<std::string> events;  // names, in order; written by on_event calls that never overlap
};

[[nodiscard]] cascade::submit_result submit_keyed(cascade::bus& bus, const deposit& d, const std::string& key,
                                                  const std::shared_ptr<told>& seen,
                                                  const std::string& principal = {}) {
    return bus.try_submit(cascade::any_message{d},
                          {.on_recorded =
                               [seen](cascade::message_id, bool replay) {
                                   seen->replay = replay;
                                   ++seen->recorded;
                               },
                           .on_event = [seen](const cascade::envelope& e) { seen->events.emplace_back(e.name()); },
                           .on_done = [seen](cascade::outcome o) { seen->done.set_value(std::move(o)); }},
                          {.key = key, .principal = principal});
}

/// The journal reopened by the next process: a new bus on it, wired, not yet recovered.
[[nodiscard]] std::unique_ptr<cascade::bus> restart(accounts& world, memory_journal& journal) {
    journal.reopen();
    world.unstall();
    auto restarted = std::make_unique<cascade::bus>(cascade::bus_options{.threads = 2});
    world.wire(*restarted);
    return restarted;
}

/// Waits for the outcome a keyed submit was told.
[[nodiscard]] cascade::outcome outcome_of(told& seen) {
    auto future = seen.done.get_future();
    REQUIRE(future.wait_for(generous) == std::future_status::ready);
    return future.get();
}

}  // namespace

TEST_CASE("a journaled submit is acknowledged once recorded, and its outcome is kept under its key", "[journal]") {
    auto journal = std::make_shared<memory_journal>();
    accounts world{journal};
    cascade::bus bus{{.threads = 2}};
    world.wire(bus);
    CHECK(bus.journaled());
    CHECK_FALSE(bus.durable());
    CHECK(bus.recover() == 0);

    auto first = std::make_shared<told>();
    const auto admitted = submit_keyed(bus, {.key = "a", .amount = 5, .notes = 2}, "k1", first);
    REQUIRE(admitted);
    CHECK_FALSE(admitted.replay);
    const auto done = outcome_of(*first);
    CHECK(first->recorded == 1);
    CHECK_FALSE(first->replay);
    CHECK(done.status == cascade_status::ok);
    CHECK(done.result == 5);
    CHECK(done.events.size() == 2);

    // The same key again, on the same bus: nothing runs, the recorded cascade is told again.
    auto again = std::make_shared<told>();
    const auto replayed = submit_keyed(bus, {.key = "a", .amount = 5, .notes = 2}, "k1", again);
    REQUIRE(replayed);
    CHECK(replayed.replay);
    CHECK(replayed.id == admitted.id);
    const auto replay_done = outcome_of(*again);
    CHECK(again->replay);
    CHECK(replay_done.result == 5);
    CHECK(again->events == std::vector<std::string>{"Noted", "Noted"});
    CHECK(world.balance("a") == 5);
    CHECK(world.deposits() == 1);

    // Another message under a known key is refused, and runs nothing.
    auto other = std::make_shared<told>();
    CHECK(submit_keyed(bus, {.key = "a", .amount = 6, .notes = 0}, "k1", other).status == admission::duplicate_key);
    CHECK(bus.wait_idle(generous));
    CHECK(world.balance("a") == 5);
    CHECK(other->recorded == 0);
}

TEST_CASE("a submit under the key of a running cascade follows it instead of running again", "[journal]") {
    auto journal = std::make_shared<memory_journal>();
    accounts world{journal};
    cascade::bus bus{{.threads = 2}};
    world.wire(bus);
    REQUIRE(bus.recover() == 0);
    journal->hold();  // the first submit stays unrecorded, so it cannot have finished yet
    auto first = std::make_shared<told>();
    auto second = std::make_shared<told>();
    REQUIRE(submit_keyed(bus, {.key = "a", .amount = 1, .notes = 1}, "k", first));
    const auto followed = submit_keyed(bus, {.key = "a", .amount = 1, .notes = 1}, "k", second);
    REQUIRE(followed);
    CHECK(followed.replay);
    CHECK(first->recorded == 0);   // not acknowledged before the journal committed it
    CHECK(second->recorded == 0);  // nor is its follower
    journal->resume();
    CHECK(outcome_of(*first).result == 1);
    CHECK(outcome_of(*second).result == 1);
    CHECK(second->recorded == 1);
    CHECK(second->replay);
    CHECK(second->events == std::vector<std::string>{"Noted"});
    CHECK(world.deposits() == 1);
}

TEST_CASE("an idempotency key needs a journal", "[journal]") {
    cascade::bus bus{{.threads = 1}};
    bus.handle<double_it>("double", [](const double_it& d, context&) -> asio::awaitable<int> { co_return d.value; });
    CHECK_THROWS_AS(
        bus.try_submit(cascade::any_message{double_it{.key = "a", .value = 1, .raise = 0}}, {}, {.key = "k"}),
        std::logic_error);
    CHECK_THROWS_AS(bus.recover(), std::logic_error);
}

TEST_CASE("a journaled bus takes submissions once it has recovered", "[journal]") {
    auto journal = std::make_shared<memory_journal>();
    accounts world{journal};
    cascade::bus bus{{.threads = 1}};
    world.wire(bus);
    CHECK_THROWS_AS(bus.try_submit(cascade::any_message{deposit{.key = "a", .amount = 1, .notes = 0}}),
                    std::logic_error);
    CHECK(bus.recover() == 0);
    CHECK_THROWS_AS(bus.recover(), std::logic_error);  // once
    CHECK(run(bus, deposit{.key = "a", .amount = 1, .notes = 0}).status == cascade_status::ok);
}

TEST_CASE("crash after the append, before the handler: the next bus runs the cascade once, under its principal",
          "[journal][crash][principal]") {
    auto journal = std::make_shared<memory_journal>();
    accounts world{journal};
    auto seen = std::make_shared<told>();
    {
        cascade::bus crashed{{.threads = 2}};
        world.wire(crashed);
        REQUIRE(crashed.recover() == 0);
        world.stall("deposit");
        REQUIRE(submit_keyed(crashed, {.key = "a", .amount = 7, .notes = 2}, "k", seen, "alice"));
        REQUIRE(eventually([&] { return world.stalled_runs() == 1; }));
        CHECK(seen->recorded == 1);  // acknowledged: the client may rely on it now
        journal->sever();
    }
    CHECK(world.principal_of("deposit", "a") == "(no run)");  // it stalled before it got that far
    const auto restarted = restart(world, *journal);
    CHECK(restarted->recover() == 1);
    // The key's submit, tracked again by the new bus (or recorded since), names its submitter.
    const auto tracked = restarted->find_submit("k");
    REQUIRE(tracked);
    CHECK(tracked->submit.principal == "alice");
    auto resubmitted = std::make_shared<told>();
    const auto followed = submit_keyed(*restarted, {.key = "a", .amount = 7, .notes = 2}, "k", resubmitted);
    CHECK(followed.replay);
    const auto done = outcome_of(*resubmitted);
    CHECK(done.status == cascade_status::ok);
    CHECK(done.result == 7);
    CHECK(done.events.size() == 2);
    CHECK(restarted->wait_idle(generous));
    CHECK(world.balance("a") == 7);
    CHECK(world.deposits() == 1);
    CHECK(world.notes("a/0") == 1);
    CHECK(world.notes("a/1") == 1);
    CHECK(world.tallies() == 2);
    CHECK(restarted->metrics().recovered == 1);
    CHECK(restarted->metrics().redelivered == 1);  // the deposit itself; its events were new
    // The resumed envelope has its principal back, and the events it raised inherit it.
    CHECK(world.principal_of("deposit", "a") == "alice");
    CHECK(world.principal_of("count_note", "a/0") == "alice");
    CHECK(world.principal_of("count_note", "a/1") == "alice");
    for (const auto& event : done.events) {
        CHECK(event.principal == "alice");
    }
}

TEST_CASE("crash after the handler's commit, before its events: they are delivered, it is not run again",
          "[journal][crash]") {
    auto journal = std::make_shared<memory_journal>();
    accounts world{journal};
    cascade::message_id first_id = 0;
    {
        cascade::bus crashed{{.threads = 2}};
        world.wire(crashed);
        REQUIRE(crashed.recover() == 0);
        world.stall("count_note");
        auto seen = std::make_shared<told>();
        const auto admitted = submit_keyed(crashed, {.key = "b", .amount = 3, .notes = 3}, "k", seen);
        REQUIRE(admitted);
        first_id = admitted.id;
        REQUIRE(eventually([&] { return world.stalled_runs() >= 1; }));
        journal->sever();
    }
    CHECK(world.deposits() == 1);
    const auto restarted = restart(world, *journal);
    CHECK(restarted->recover() == 1);
    auto resubmitted = std::make_shared<told>();
    const auto followed = submit_keyed(*restarted, {.key = "b", .amount = 3, .notes = 3}, "k", resubmitted);
    CHECK(followed.id == first_id);
    const auto done = outcome_of(*resubmitted);
    CHECK(done.result == 3);  // the recorded result, though the handler did not run again
    CHECK(done.events.size() == 3);
    CHECK(restarted->wait_idle(generous));
    CHECK(world.deposits() == 1);
    CHECK(world.balance("b") == 3);
    for (int i = 0; i < 3; ++i) {
        CHECK(world.notes("b/" + std::to_string(i)) == 1);
    }
    CHECK(restarted->metrics().replayed >= 1);
}

TEST_CASE("crash between two handlers of one event: the first is not run again, the second runs", "[journal][crash]") {
    auto journal = std::make_shared<memory_journal>();
    accounts world{journal};
    {
        cascade::bus crashed{{.threads = 2}};
        world.wire(crashed);
        REQUIRE(crashed.recover() == 0);
        world.stall("tally");
        auto seen = std::make_shared<told>();
        REQUIRE(submit_keyed(crashed, {.key = "c", .amount = 1, .notes = 2}, "k", seen));
        // Both events are on lanes of their own: each stops in tally after count_note committed.
        REQUIRE(eventually([&] { return world.stalled_runs() == 2; }));
        journal->sever();
    }
    CHECK(world.notes("c/0") == 1);
    CHECK(world.notes("c/1") == 1);
    CHECK(world.tallies() == 0);
    const auto restarted = restart(world, *journal);
    CHECK(restarted->recover() == 1);
    CHECK(restarted->wait_idle(generous));
    CHECK(world.deposits() == 1);
    CHECK(world.notes("c/0") == 1);
    CHECK(world.notes("c/1") == 1);
    CHECK(world.tallies() == 2);
    // The outcome is recorded after the cascade is done (a moment after the bus is idle).
    std::optional<cascade::keyed_submit> known;
    CHECK(eventually([&] {
        known = journal->find("k", restarted->registry());
        return known && known->finished;
    }));
    REQUIRE(known);
    REQUIRE(known->finished);
    CHECK(known->finished->status == cascade_status::ok);
    CHECK(known->finished->events.size() == 2);
}

TEST_CASE("crash during a group commit: what was acknowledged completes, what was not is gone", "[journal][crash]") {
    auto journal = std::make_shared<memory_journal>();
    accounts world{journal};
    std::vector<std::shared_ptr<told>> acked(4);
    std::vector<std::shared_ptr<told>> unacked(4);
    {
        cascade::bus crashed{{.threads = 2}};
        world.wire(crashed);
        REQUIRE(crashed.recover() == 0);
        world.stall("deposit");
        for (std::size_t i = 0; i < acked.size(); ++i) {
            acked[i] = std::make_shared<told>();
            REQUIRE(submit_keyed(crashed, {.key = "acked" + std::to_string(i), .amount = 1, .notes = 0},
                                 "a" + std::to_string(i), acked[i]));
        }
        REQUIRE(eventually([&] { return world.stalled_runs() == 4; }));
        journal->hold();
        for (std::size_t i = 0; i < unacked.size(); ++i) {
            unacked[i] = std::make_shared<told>();
            REQUIRE(submit_keyed(crashed, {.key = "lost" + std::to_string(i), .amount = 1, .notes = 0},
                                 "u" + std::to_string(i), unacked[i]));
        }
        journal->sever();  // the held group is lost with the process
    }
    for (const auto& seen : acked) {
        CHECK(seen->recorded == 1);
    }
    for (const auto& seen : unacked) {
        CHECK(seen->recorded == 0);  // never acknowledged: the client knows to submit again
    }
    const auto restarted = restart(world, *journal);
    CHECK(restarted->recover() == 4);
    CHECK(restarted->wait_idle(generous));
    for (std::size_t i = 0; i < 4; ++i) {
        CHECK(world.balance("acked" + std::to_string(i)) == 1);
        CHECK(world.balance("lost" + std::to_string(i)) == 0);
        CHECK_FALSE(journal->find("u" + std::to_string(i), restarted->registry()));
    }
    // A lost submit's key is free: submitting it again runs it.
    auto retried = std::make_shared<told>();
    const auto admitted = submit_keyed(*restarted, {.key = "lost0", .amount = 1, .notes = 0}, "u0", retried);
    CHECK_FALSE(admitted.replay);
    CHECK(outcome_of(*retried).status == cascade_status::ok);
    CHECK(world.balance("lost0") == 1);
}

TEST_CASE("a key outlives the bus that ran it: a restarted bus replays it", "[journal]") {
    auto journal = std::make_shared<memory_journal>();
    accounts world{journal};
    {
        cascade::bus first{{.threads = 2}};
        world.wire(first);
        REQUIRE(first.recover() == 0);
        auto seen = std::make_shared<told>();
        REQUIRE(submit_keyed(first, {.key = "d", .amount = 2, .notes = 1}, "k", seen));
        CHECK(outcome_of(*seen).status == cascade_status::ok);
    }
    cascade::bus second{{.threads = 2}};
    world.wire(second);
    CHECK(second.recover() == 0);
    auto seen = std::make_shared<told>();
    const auto replayed = submit_keyed(second, {.key = "d", .amount = 2, .notes = 1}, "k", seen);
    CHECK(replayed.replay);
    const auto done = outcome_of(*seen);
    CHECK(done.result == 2);
    CHECK(seen->events == std::vector<std::string>{"Noted"});
    CHECK(world.deposits() == 1);
    // New ids stay above the ones the journal holds.
    auto fresh = std::make_shared<told>();
    const auto admitted = submit_keyed(second, {.key = "e", .amount = 1, .notes = 0}, "k2", fresh);
    CHECK(admitted.id > replayed.id);
    CHECK(outcome_of(*fresh).status == cascade_status::ok);
}

TEST_CASE("a journal that fails the append fails the submit, and runs nothing", "[journal]") {
    auto journal = std::make_shared<memory_journal>();
    accounts world{journal};
    cascade::bus bus{{.threads = 2}};
    world.wire(bus);
    REQUIRE(bus.recover() == 0);
    journal->sever();
    auto seen = std::make_shared<told>();
    REQUIRE(submit_keyed(bus, {.key = "f", .amount = 1, .notes = 0}, "k", seen));
    const auto done = outcome_of(*seen);
    CHECK(done.status == cascade_status::failed);
    REQUIRE(done.errors.size() == 1);
    CHECK(done.errors[0].code == "internal");
    CHECK(seen->recorded == 0);
    CHECK(bus.wait_idle(generous));
    CHECK(world.deposits() == 0);
}
