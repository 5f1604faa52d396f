// Dead letters: numbered, listed, delivered again to the one handler that gave them up, and kept
// when a retry is refused.
#include "dead_letter_box.hpp"
#include "test_domain.hpp"

#include <cascade/memory_journal.hpp>

#include <catch2/catch.hpp>

#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

using namespace test_domain;
using cascade::context;

namespace {

constexpr cascade::retry_policy once{.max_attempts = 1};

/// A bus whose "flaky" handler of Noted fails while `failing` is set, beside a "steady" one; with
/// a journal, it recovers from it first.
struct flaky_bus {
    explicit flaky_bus(const std::shared_ptr<cascade::memory_journal>& journal = nullptr) {
        bus.subscribe<noted>(
            "flaky",
            [this](const noted&, context& ctx) -> asio::awaitable<void> {
                ++flaky_runs;
                causation = ctx.envelope().causation_id;
                {
                    const std::scoped_lock lock{mutex};
                    principal = ctx.envelope().principal;
                }
                if (failing) {
                    throw std::runtime_error{"not yet"};
                }
                co_return;
            },
            once);
        bus.subscribe<noted>("steady", [this](const noted&, context&) -> asio::awaitable<void> {
            ++steady_runs;
            co_return;
        });
        if (journal) {
            bus.use_journal(journal);
            (void)bus.recover();
        }
    }

    /// Retries `letter` and waits for the retry's outcome; std::nullopt when it is not kept.
    std::optional<cascade::outcome> retry(std::uint64_t letter) {
        auto done = std::make_shared<std::promise<cascade::outcome>>();
        auto outcome = done->get_future();
        const auto admitted = bus.retry_dead_letter(
            letter, {.on_done = [done](cascade::outcome out) { done->set_value(std::move(out)); }});
        if (!admitted) {
            return std::nullopt;
        }
        REQUIRE(admitted->status == cascade::admission::accepted);
        return outcome.get();
    }

    /// The principal of the flaky handler's last run.
    [[nodiscard]] std::string last_principal() {
        const std::scoped_lock lock{mutex};
        return principal;
    }

    // Before the bus: its handler writes them until the bus is gone.
    std::mutex mutex;
    std::string principal;
    cascade::bus bus{{.threads = 2}};
    std::atomic<bool> failing{true};
    std::atomic<int> flaky_runs{0};
    std::atomic<int> steady_runs{0};
    std::atomic<cascade::message_id> causation{0};
};

/// The letter `flaky` would have left of the Noted submitted as `root`, numbered `id`.
cascade::dead_letter flaky_letter(std::uint64_t id, cascade::message_id root) {
    cascade::dead_letter letter{.message = {.message = cascade::any_message{noted{.key = "a", .seq = 1}}}};
    letter.id = id;
    letter.message.id = root;
    letter.message.correlation_id = root;
    letter.handler = "flaky";
    letter.error = "not yet";
    letter.attempts = 1;
    return letter;
}

}  // namespace

TEST_CASE("a retried dead letter goes to its one handler, as a new cascade caused by it", "[dead_letter]") {
    flaky_bus f;
    const auto first = run(f.bus, noted{.key = "a", .seq = 1});
    REQUIRE(first.status == cascade::cascade_status::partial);
    const auto letters = f.bus.dead_letters();
    REQUIRE(letters.size() == 1);
    CHECK(letters[0].handler == "flaky");

    f.failing = false;
    const auto again = f.retry(letters[0].id);
    REQUIRE(again.has_value());
    CHECK(again->status == cascade::cascade_status::ok);
    CHECK(f.flaky_runs == 2);
    CHECK(f.steady_runs == 1);  // not delivered to the handler that had succeeded
    CHECK(f.causation == letters[0].message.id);
    CHECK(f.bus.dead_letters().empty());
    CHECK_FALSE(f.retry(letters[0].id).has_value());  // taken: a second retry finds nothing
}

TEST_CASE("a retried dead letter that fails again is a new dead letter", "[dead_letter]") {
    flaky_bus f;
    (void)run(f.bus, noted{.key = "a", .seq = 1});
    const auto letter = f.bus.dead_letters().at(0);
    const auto again = f.retry(letter.id);
    REQUIRE(again.has_value());
    CHECK(again->status == cascade::cascade_status::partial);
    const auto letters = f.bus.dead_letters();
    REQUIRE(letters.size() == 1);
    CHECK(letters[0].id != letter.id);
    CHECK(letters[0].message.message.get_if<noted>()->seq == 1);
}

TEST_CASE("a refused retry keeps its dead letter, and an unknown one is not found", "[dead_letter]") {
    flaky_bus f;
    (void)run(f.bus, noted{.key = "a", .seq = 1});
    (void)run(f.bus, noted{.key = "b", .seq = 2});
    const auto letters = f.bus.dead_letters();
    REQUIRE(letters.size() == 2);
    CHECK(letters[0].id < letters[1].id);
    CHECK_FALSE(f.bus.retry_dead_letter(letters[1].id + 1).has_value());

    f.bus.stop_accepting();
    const auto refused = f.bus.retry_dead_letter(letters[0].id);
    REQUIRE(refused.has_value());
    CHECK(refused->status == cascade::admission::shutting_down);
    const auto kept = f.bus.dead_letters();
    REQUIRE(kept.size() == 2);
    CHECK(kept[0].id == letters[0].id);  // back in its place
    CHECK(kept[1].id == letters[1].id);
}

TEST_CASE("an event's handlers have distinct names, which a retry goes by", "[dead_letter]") {
    cascade::bus bus;
    const auto nothing = [](const noted&, context&) -> asio::awaitable<void> { co_return; };
    bus.subscribe<noted>("audit", nothing);
    CHECK_THROWS_AS(bus.subscribe<noted>("audit", nothing), std::logic_error);
    bus.subscribe<hop>("audit", [](const hop&, context&) -> asio::awaitable<void> { co_return; });  // another event
}

TEST_CASE("a dead letter put back into a box that filled up meanwhile stays, the oldest other goes", "[dead_letter]") {
    const auto letter = [](std::string error) {
        return cascade::dead_letter{
            .message = {.message = cascade::any_message{noted{.key = "a"}}}, .handler = "h", .error = std::move(error)};
    };
    cascade::detail::dead_letter_box box{2};
    // What a journal is told, in the box's order.
    std::vector<std::string> records;
    box.record_to({.kept = [&](const cascade::dead_letter& l) { records.push_back("keep " + std::to_string(l.id)); },
                   .dropped = [&](std::uint64_t id) { records.push_back("drop " + std::to_string(id)); }});
    CHECK(box.keep(letter("first")) == 1);
    CHECK(box.keep(letter("second")) == 2);
    auto taken = box.take(1);
    REQUIRE(taken.has_value());
    CHECK_FALSE(box.take(1).has_value());
    CHECK(box.keep(letter("third")) == 3);
    box.put_back(std::move(*taken));
    std::vector<std::string> kept;
    for (const auto& letter : box.list()) {
        kept.push_back(letter.error);
    }
    CHECK(kept == std::vector<std::string>{"first", "third"});
    CHECK(records == std::vector<std::string>{"keep 1", "keep 2", "keep 3", "drop 2"});
}

TEST_CASE("letters restored from a journal keep their ids, numbering goes on above them", "[dead_letter]") {
    const auto letter = [](std::uint64_t id, std::string error) {
        return cascade::dead_letter{.id = id,
                                    .message = {.message = cascade::any_message{noted{.key = "a"}}},
                                    .handler = "h",
                                    .error = std::move(error)};
    };
    cascade::detail::dead_letter_box box{2};
    std::vector<std::uint64_t> dropped;
    box.record_to({.kept = {}, .dropped = [&](std::uint64_t id) { dropped.push_back(id); }});
    // Three kept in the journal, out of order, and one it could not read (12); the box holds two:
    // the oldest leaves the journal.
    box.restore({letter(9, "nine"), letter(4, "four"), letter(7, "seven")}, 12);
    CHECK(dropped == std::vector<std::uint64_t>{4});
    CHECK(box.keep(letter(0, "next")) == 13);  // above every id the journal holds
    CHECK(dropped == std::vector<std::uint64_t>{4, 7});
    std::vector<std::uint64_t> ids;
    for (const auto& kept : box.list()) {
        ids.push_back(kept.id);
    }
    CHECK(ids == std::vector<std::uint64_t>{9, 13});
}

TEST_CASE("a journaled bus's dead letters outlive it, a finished retry removes its letter", "[dead_letter][journal]") {
    auto journal = std::make_shared<cascade::memory_journal>();
    std::optional<cascade::dead_letter> kept_by_first;
    {
        flaky_bus first{journal};
        REQUIRE(run(first.bus, noted{.key = "a", .seq = 1}).status == cascade::cascade_status::partial);
        REQUIRE(first.bus.dead_letters().size() == 1);
        kept_by_first = first.bus.dead_letters()[0];
    }  // the process ends; the letter is in the journal
    const auto& letter = *kept_by_first;
    {
        flaky_bus second{journal};
        const auto kept = second.bus.dead_letters();
        REQUIRE(kept.size() == 1);
        CHECK(kept[0].id == letter.id);
        CHECK(kept[0].handler == "flaky");
        CHECK(kept[0].error == letter.error);
        CHECK(kept[0].attempts == letter.attempts);
        CHECK(kept[0].message.id == letter.message.id);
        CHECK(kept[0].message.message.get_if<noted>()->seq == 1);
        // A letter of this bus is numbered after the recovered one.
        (void)run(second.bus, noted{.key = "b", .seq = 2});
        REQUIRE(second.bus.dead_letters().size() == 2);
        CHECK(second.bus.dead_letters()[1].id > letter.id);

        second.failing = false;
        const auto again = second.retry(letter.id);
        REQUIRE(again.has_value());
        CHECK(again->status == cascade::cascade_status::ok);
        CHECK(second.steady_runs == 1);  // the retry went to the flaky handler alone
    }
    flaky_bus third{journal};
    const auto left = third.bus.dead_letters();
    REQUIRE(left.size() == 1);  // the retried one is gone; the other stays
    CHECK(left[0].message.message.get_if<noted>()->seq == 2);
}

TEST_CASE("a dead letter keeps its cascade's principal through the journal, and its retry runs under it",
          "[dead_letter][journal][principal]") {
    auto journal = std::make_shared<cascade::memory_journal>();
    std::uint64_t id = 0;
    {
        flaky_bus first{journal};
        const auto done = submit_now(first.bus, noted{.key = "a", .seq = 1}, {.key = {}, .principal = "alice"}).get();
        REQUIRE(done.status == cascade::cascade_status::partial);
        const auto letters = first.bus.dead_letters();
        REQUIRE(letters.size() == 1);
        CHECK(letters[0].message.principal == "alice");
        id = letters[0].id;
    }
    flaky_bus second{journal};
    const auto kept = second.bus.dead_letters();
    REQUIRE(kept.size() == 1);
    CHECK(kept[0].message.principal == "alice");
    second.failing = false;
    const auto again = second.retry(id);
    REQUIRE(again.has_value());
    CHECK(again->status == cascade::cascade_status::ok);
    CHECK(second.last_principal() == "alice");
}

TEST_CASE("a dead letter whose retry was not recorded as done is listed again after a crash",
          "[dead_letter][journal]") {
    auto journal = std::make_shared<cascade::memory_journal>();
    std::uint64_t id = 0;
    {
        flaky_bus first{journal};
        (void)run(first.bus, noted{.key = "a", .seq = 1});
        id = first.bus.dead_letters().at(0).id;
        first.failing = false;
        journal->sever();  // the process dies as the retry runs: nothing more is committed
        REQUIRE(first.retry(id).has_value());
        CHECK(first.bus.dead_letters().empty());
    }
    journal->reopen();
    flaky_bus second{journal};
    const auto kept = second.bus.dead_letters();
    REQUIRE(kept.size() == 1);
    CHECK(kept[0].id == id);  // at least once: retry it again
}

TEST_CASE("a letter whose cascade had not recorded its outcome is not restored: the cascade runs again",
          "[dead_letter][journal]") {
    auto journal = std::make_shared<cascade::memory_journal>();
    // The journal as a crash left it: the submit and its letter committed, its outcome not.
    constexpr cascade::message_id root = 5;
    std::promise<void> appended;
    std::promise<void> lettered;
    journal->append({.id = root, .key = "", .message = cascade::any_message{noted{.key = "a", .seq = 1}}},
                    [&](const std::exception_ptr&) { appended.set_value(); });
    const auto stale = flaky_letter(3, root);
    journal->keep_letter(stale, [&](const std::exception_ptr&) { lettered.set_value(); });
    appended.get_future().wait();
    lettered.get_future().wait();

    flaky_bus second{journal};  // recovers: the submit runs again, and its flaky handler gives up again
    REQUIRE(second.bus.wait_idle(std::chrono::seconds{60}));
    CHECK(second.flaky_runs == 1);
    const auto letters = second.bus.dead_letters();
    REQUIRE(letters.size() == 1);  // the new one, not the stale one beside it
    CHECK(letters[0].id > 3);      // numbered above what the journal held
    CHECK(letters[0].message.id == root);
}
