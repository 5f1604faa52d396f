// The event log and the live feed's offsets: numbering, retention, and a subscription that starts
// in the past catching up to the live events with no gap and no duplicate at the seam.
#include "gateway/event_log.hpp"

#include "gateway/live_feed.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using gateway::catch_up_state;
using gateway::event_log;
using gateway::join_result;
using gateway::live_feed;
using gateway::log_start;
using gateway::outbox;
using nlohmann::json;
using server_test::seq_range;

namespace {

using namespace std::chrono_literals;

const auto t0 = event_log::clock::now();

struct noted {
    static constexpr std::string_view name = "Noted";
    static constexpr cascade::message_kind kind = cascade::message_kind::event;
    std::string key;
    int n{};
    [[nodiscard]] std::string_view aggregate() const noexcept { return key; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(noted, key, n)

cascade::envelope note(std::string key, int n) {
    return {.id = static_cast<cascade::message_id>(n),
            .causation_id = 0,
            .correlation_id = 1,
            .depth = 1,
            .timestamp = event_log::clock::now(),
            .message = cascade::any_message{noted{std::move(key), n}}};
}

std::shared_ptr<outbox> make_outbox(std::size_t max_frames = 1'000'000) {
    return std::make_shared<outbox>(gateway::queue_limits{.max_frames = max_frames, .max_bytes = 1U << 30U}, "bye");
}

/// Every frame queued in `out` so far, parsed.
std::vector<json> drain(outbox& out) {
    std::vector<std::string> taken;
    (void)out.take(taken);
    std::size_t bytes = 0;
    std::vector<json> frames;
    frames.reserve(taken.size());
    for (const auto& frame : taken) {
        bytes += frame.size();
        frames.push_back(json::parse(frame));
    }
    out.written(taken.size(), bytes);
    return frames;
}

std::vector<std::uint64_t> seqs_of(const std::vector<json>& frames) {
    std::vector<std::uint64_t> seqs;
    for (const auto& frame : frames) {
        if (frame["type"] == "event") {
            seqs.push_back(frame["seq"].get<std::uint64_t>());
        }
    }
    return seqs;
}

}  // namespace

TEST_CASE("the event log numbers from 1 and keeps what retention allows", "[server][event_log]") {
    event_log log{{.max_events = 3, .max_age = 10s}, 5};
    CHECK(log.epoch() == 5);
    CHECK(log.last_seq() == 0);
    CHECK(log.oldest_seq() == 1);
    CHECK(log.from(1) == log.end());
    for (int i = 1; i <= 5; ++i) {
        CHECK(log.append("Noted", "k", "{}", t0) == static_cast<std::uint64_t>(i));
    }
    // By count: the newest three.
    CHECK(log.last_seq() == 5);
    CHECK(log.oldest_seq() == 3);
    CHECK(log.from(1)->seq == 3);  // clamped to what is kept
    CHECK(log.from(4)->seq == 4);
    CHECK(log.from(6) == log.end());

    // By age: an event collected 20 s later leaves only itself inside the 10 s.
    CHECK(log.append("Noted", "k", "{}", t0 + 20s) == 6);
    CHECK(log.oldest_seq() == 6);
    // And with time alone, nothing: the log is empty, its next seq still 7.
    log.expire(t0 + 40s);
    CHECK(log.oldest_seq() == 7);
    CHECK(log.last_seq() == 6);
    CHECK(log.from(1) == log.end());
}

TEST_CASE("a subscription from an offset catches up from the log, then takes live events, seamlessly",
          "[server][event_log]") {
    live_feed feed{{}, 42};
    for (int i = 1; i <= 100; ++i) {
        feed.publish(note("k" + std::to_string(i % 3), i));
    }
    auto out = make_outbox(50);  // a backlog may fill half: 25 frames a step
    const auto joined = feed.add(out, "s", {}, {.from = log_start::point::seq, .seq = 40, .epoch = 42});
    REQUIRE(joined.answer == join_result::verdict::joined);
    CHECK_FALSE(joined.live);
    CHECK(joined.start_seq == 40);
    CHECK(joined.last_seq == 100);

    // The answer, then the first step at once, within the outbox's room.
    auto frames = drain(*out);
    REQUIRE(frames.size() == 25);
    CHECK(frames[0] == json{{"type", "subscribed"}, {"re", "s"}, {"epoch", 42}, {"from_seq", 40}});
    CHECK(seqs_of(frames) == seq_range(40, 63));

    // Live events published meanwhile wait in the log for it.
    for (int i = 101; i <= 103; ++i) {
        feed.publish(note("k", i));
    }
    CHECK(seqs_of(drain(*out)).empty());
    std::vector<std::uint64_t> seqs;
    while (feed.catch_up(*out, "s") == catch_up_state::behind) {
        const auto step = seqs_of(drain(*out));
        CHECK(step.size() <= 25);
        seqs.insert(seqs.end(), step.begin(), step.end());
    }
    const auto last = seqs_of(drain(*out));
    seqs.insert(seqs.end(), last.begin(), last.end());
    CHECK(seqs == seq_range(64, 103));
    feed.publish(note("k", 104));
    const auto live = drain(*out);
    CHECK(seqs_of(live) == seq_range(104, 104));
    CHECK(live[0]["sub"] == "s");
    CHECK(live[0]["event"]["data"]["n"] == 104);
    CHECK(feed.catch_up(*out, "s") == catch_up_state::live);
}

TEST_CASE("catching up waits while the client has not read, and stays within the queue's bytes",
          "[server][event_log]") {
    live_feed feed;
    for (int i = 1; i <= 60; ++i) {
        feed.publish(note("k", i));
    }
    SECTION("no room: nothing is queued until the writer takes what is there") {
        auto out = make_outbox(8);  // half is 4 frames: the answer and 3 events
        REQUIRE(feed.add(out, "s", {}, {.from = log_start::point::earliest}).answer == join_result::verdict::joined);
        CHECK(feed.catch_up(*out, "s") == catch_up_state::behind);
        auto frames = drain(*out);
        CHECK(seqs_of(frames) == seq_range(1, 3));
        CHECK(feed.catch_up(*out, "s") == catch_up_state::behind);
        CHECK(seqs_of(drain(*out)) == seq_range(4, 7));
    }
    SECTION("a step stops at half the queue's byte bound") {
        auto out = std::make_shared<outbox>(gateway::queue_limits{.max_frames = 10'000, .max_bytes = 4096}, "bye");
        REQUIRE(feed.add(out, "s", {}, {.from = log_start::point::earliest}).answer == join_result::verdict::joined);
        std::vector<std::string> taken;
        (void)out->take(taken);
        std::size_t bytes = 0;
        for (const auto& frame : taken) {
            bytes += frame.size();
        }
        CHECK(taken.size() > 2);
        CHECK(taken.size() < 30);
        CHECK(bytes <= 2048);
        out->written(taken.size(), bytes);
        std::size_t events = taken.size() - 1;
        while (feed.catch_up(*out, "s") == catch_up_state::behind) {
            events += seqs_of(drain(*out)).size();
        }
        events += seqs_of(drain(*out)).size();
        CHECK(events == 60);
    }
}

TEST_CASE("a subscription's filter applies to what it reads from the log", "[server][event_log]") {
    live_feed feed;
    for (int i = 1; i <= 30; ++i) {
        feed.publish(note(i % 2 == 0 ? "even" : "odd", i));
    }
    auto out = make_outbox(8);
    const auto joined =
        feed.add(out, "evens", {.names = {}, .aggregates = {"even"}}, {.from = log_start::point::earliest});
    REQUIRE(joined.answer == join_result::verdict::joined);
    CHECK(joined.start_seq == 1);
    std::vector<std::uint64_t> seqs = seqs_of(drain(*out));
    while (feed.catch_up(*out, "evens") == catch_up_state::behind) {
        const auto step = seqs_of(drain(*out));
        seqs.insert(seqs.end(), step.begin(), step.end());
    }
    const auto last = seqs_of(drain(*out));
    seqs.insert(seqs.end(), last.begin(), last.end());
    std::vector<std::uint64_t> evens;
    for (std::uint64_t seq = 2; seq <= 30; seq += 2) {
        evens.push_back(seq);
    }
    CHECK(seqs == evens);
}

TEST_CASE("a start the log does not hold is refused with where the log stands", "[server][event_log]") {
    live_feed feed{{.max_events = 10, .max_age = std::chrono::hours{1}}, 7};
    for (int i = 1; i <= 25; ++i) {
        feed.publish(note("k", i));
    }
    auto out = make_outbox();
    SECTION("older than retention keeps") {
        const auto joined = feed.add(out, "s", {}, {.from = log_start::point::seq, .seq = 15, .epoch = 7});
        CHECK(joined.answer == join_result::verdict::expired);
        CHECK(joined.oldest_seq == 16);
        CHECK(joined.last_seq == 25);
    }
    SECTION("a seq of another log (the server restarted)") {
        const auto joined = feed.add(out, "s", {}, {.from = log_start::point::seq, .seq = 20, .epoch = 6});
        CHECK(joined.answer == join_result::verdict::expired);
        CHECK(joined.epoch == 7);
    }
    SECTION("past the next seq") {
        const auto joined = feed.add(out, "s", {}, {.from = log_start::point::seq, .seq = 27});
        CHECK(joined.answer == join_result::verdict::ahead);
    }
    // Nothing was queued and nothing joined.
    CHECK(drain(*out).empty());
    CHECK(feed.size() == 0);
    // The next seq and the oldest kept are both fine starts.
    const auto next = feed.add(out, "next", {}, {.from = log_start::point::seq, .seq = 26});
    CHECK(next.answer == join_result::verdict::joined);
    CHECK(next.live);
    const auto oldest = feed.add(out, "oldest", {}, {.from = log_start::point::seq, .seq = 16});
    CHECK(oldest.answer == join_result::verdict::joined);
    CHECK(oldest.live);  // ten events fit in one step
    CHECK(seqs_of(drain(*out)) == seq_range(16, 25));
}

TEST_CASE("the log's byte bound drops the oldest events too", "[server][event_log]") {
    event_log log{{.max_events = 1000, .max_age = std::chrono::hours{1}, .max_bytes = 100}, 1};
    for (int i = 0; i < 10; ++i) {
        (void)log.append("N", "k", std::string(30, 'x'), t0);  // 32 bytes each
    }
    CHECK(log.bytes() <= 100);
    CHECK(log.oldest_seq() == 8);  // the newest three fit
    CHECK(log.last_seq() == 10);
}

TEST_CASE("a subscription that reads slower than retention keeps is dropped as expired", "[server][event_log]") {
    live_feed feed{{.max_events = 10, .max_age = std::chrono::hours{1}}, 1};
    for (int i = 1; i <= 10; ++i) {
        feed.publish(note("k", i));
    }
    auto out = make_outbox(8);  // three events in its first step, then its client reads nothing
    REQUIRE(feed.add(out, "s", {}, {.from = log_start::point::earliest}).answer == join_result::verdict::joined);
    CHECK(seqs_of(drain(*out)) == seq_range(1, 3));
    for (int i = 11; i <= 30; ++i) {
        feed.publish(note("k", i));
    }
    // Seqs 4 to 20 are gone before it read them: no silent gap, it is told and removed.
    CHECK(feed.catch_up(*out, "s") == catch_up_state::expired);
    CHECK(feed.size() == 0);
    CHECK(feed.catch_up(*out, "s") == catch_up_state::gone);
}

TEST_CASE("joining from an offset while events are published leaves no gap and no duplicate", "[server][event_log]") {
    constexpr int at_least = 10'000;
    live_feed feed;
    std::atomic<int> published{0};
    std::atomic<int> steps{0};
    std::atomic<bool> joined_live{false};
    std::thread publisher{[&] {
        // At least 10,000 at full speed; then one per step of the reader's, so that it catches up
        // (a step reads up to 256) while events keep coming, until it is live; then 500 more.
        int i = 0;
        const auto publish_one = [&] {
            ++i;
            feed.publish(note("k" + std::to_string(i % 7), i));
            published.store(i, std::memory_order_release);
        };
        while (i < at_least) {
            publish_one();
        }
        while (!joined_live.load(std::memory_order_acquire)) {
            const int step = steps.load(std::memory_order_acquire);
            publish_one();
            while (steps.load(std::memory_order_acquire) == step && !joined_live.load(std::memory_order_acquire)) {
                std::this_thread::yield();
            }
        }
        for (int more = 0; more < 500; ++more) {
            publish_one();
        }
    }};
    while (published.load(std::memory_order_acquire) < at_least / 4) {
        std::this_thread::yield();
    }
    auto out = make_outbox();  // steps of 256 at most, so the seam comes while the publisher is at it
    const auto joined = feed.add(out, "s", {}, {.from = log_start::point::seq, .seq = 100});
    REQUIRE(joined.answer == join_result::verdict::joined);
    std::vector<std::uint64_t> seqs = seqs_of(drain(*out));
    while (feed.catch_up(*out, "s") == catch_up_state::behind) {
        steps.fetch_add(1, std::memory_order_release);
        const auto step = seqs_of(drain(*out));
        seqs.insert(seqs.end(), step.begin(), step.end());
    }
    joined_live.store(true, std::memory_order_release);
    publisher.join();
    const auto rest = seqs_of(drain(*out));
    seqs.insert(seqs.end(), rest.begin(), rest.end());
    const auto total = static_cast<std::uint64_t>(published.load());
    CHECK(total >= at_least + 500U);
    CHECK(seqs == seq_range(100, total));
}
