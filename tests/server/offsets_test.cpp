// Subscriptions that start from an offset of the event log, through a real server: the seam with
// live events under load, retention and offset_expired, and a subscriber resuming after a reconnect.
#include "support.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

using namespace server_test;

namespace {

/// Touch submits on `client`, each raising `events` events, ids `prefix`0, `prefix`1, ...; how
/// many were not ok. No Catch assertion inside: it runs on a thread of its own too.
int touch_many_failures(ws_client& client, const std::string& prefix, int submits, int events) {
    int failures = 0;
    for (int i = 0; i < submits; ++i) {
        const auto frames =
            submit_and_collect(client, prefix + std::to_string(i), "Touch", {{"key", prefix}, {"events", events}});
        failures += frames.back()["status"] == "ok" ? 0 : 1;
    }
    return failures;
}

void touch_many(ws_client& client, const std::string& prefix, int submits, int events) {
    REQUIRE(touch_many_failures(client, prefix, submits, events) == 0);
}

/// Reads feed events of subscription `sub` until one numbered `last` arrives; returns their seqs.
std::vector<std::uint64_t> read_feed_through(ws_client& client, const std::string& sub, std::uint64_t last) {
    std::vector<std::uint64_t> seqs;
    while (seqs.empty() || seqs.back() < last) {
        const auto frame = client.read();
        REQUIRE(frame["type"] == "event");
        REQUIRE(frame["sub"] == sub);
        seqs.push_back(frame["seq"].get<std::uint64_t>());
    }
    return seqs;
}

}  // namespace

TEST_CASE("subscribing from an offset while events are produced: no gap and no duplicate over 10,000 events",
          "[server][offsets]") {
    fixture f;
    ws_client worker{f.port()};
    const auto epoch = worker.welcome()["epoch"];
    CHECK(worker.welcome()["last_seq"] == 0);
    // Each submit's own event frames carry the same seq the feed gives them.
    const auto first = submit_and_collect(worker, "first", "Touch", {{"key", "w"}, {"events", 3}});
    CHECK(first[1]["seq"] == 1);
    CHECK(first[3]["seq"] == 3);
    touch_many(worker, "early", 29, 100);  // seqs 4 to 2,903 are in the log before anyone subscribes

    int late_failures = -1;
    std::thread producer{[&] { late_failures = touch_many_failures(worker, "late", 71, 100); }};  // 7,100 more
    ws_client reader{f.port()};
    reader.send(json{{"type", "subscribe"}, {"id", "s"}, {"from_seq", 1'500}, {"epoch", epoch}});
    const auto subscribed = reader.read();
    CHECK(subscribed["type"] == "subscribed");
    CHECK(subscribed["from_seq"] == 1'500);
    const auto seqs = read_feed_through(reader, "s", 10'003);
    producer.join();
    CHECK(late_failures == 0);
    CHECK(seqs == seq_range(1'500, 10'003));
}

TEST_CASE("retention bounds the log, and a start it no longer holds is offset_expired", "[server][offsets]") {
    auto options = test_options();
    options.log.max_events = 10;
    fixture f{options};
    ws_client worker{f.port()};
    touch_many(worker, "t", 2, 10);  // seqs 1 to 20; the log keeps 11 to 20

    ws_client reader{f.port()};
    CHECK(reader.welcome()["last_seq"] == 20);
    reader.send(json{{"type", "subscribe"}, {"id", "old"}, {"from_seq", 5}});
    const auto expired = reader.read();
    CHECK(expired["type"] == "error");
    CHECK(expired["re"] == "old");
    CHECK(expired["code"] == "offset_expired");
    CHECK(expired["retryable"] == false);
    CHECK(expired["oldest_seq"] == 11);
    CHECK(expired["last_seq"] == 20);

    // Offsets of another log (before a restart) have expired too, whatever their number.
    reader.send(json{{"type", "subscribe"},
                     {"id", "restarted"},
                     {"from_seq", 15},
                     {"epoch", reader.welcome()["epoch"].get<std::uint64_t>() - 1}});
    CHECK(reader.read()["code"] == "offset_expired");
    // Past the end is a client's mistake.
    reader.send(json{{"type", "subscribe"}, {"id", "future"}, {"from_seq", 22}});
    CHECK(reader.read()["code"] == "bad_request");

    // The refused ids are free again; "earliest" is what the log still has.
    reader.send(json{{"type", "subscribe"}, {"id", "old"}, {"from", "earliest"}});
    const auto subscribed = reader.read();
    CHECK(subscribed["type"] == "subscribed");
    CHECK(subscribed["from_seq"] == 11);
    CHECK(read_feed_through(reader, "old", 20) == seq_range(11, 20));
}

TEST_CASE("a subscriber that reconnects resumes from the seq after the last one it saw", "[server][offsets]") {
    fixture f;
    ws_client worker{f.port()};
    std::uint64_t last_seen = 0;
    json epoch;  // the log its seqs belong to, kept with them
    {
        ws_client reader{f.port()};
        reader.send(json{{"type", "subscribe"}, {"id", "s"}, {"aggregates", {"mine"}}});
        const auto subscribed = reader.read();
        CHECK(subscribed["type"] == "subscribed");
        epoch = subscribed["epoch"];
        touch_many(worker, "mine", 1, 5);
        last_seen = read_feed_through(reader, "s", 5).back();
        reader.close();
    }
    // Missed while away: five of its own aggregate among others.
    touch_many(worker, "other", 2, 4);
    touch_many(worker, "mine", 1, 5);

    ws_client again{f.port()};
    again.send(json{
        {"type", "subscribe"}, {"id", "s"}, {"aggregates", {"mine"}}, {"from_seq", last_seen + 1}, {"epoch", epoch}});
    CHECK(again.read()["from_seq"] == last_seen + 1);
    CHECK(read_feed_through(again, "s", 18) == seq_range(14, 18));  // 6 to 13 were "other"
    // Then it is live.
    touch_many(worker, "mine", 1, 1);
    CHECK(read_feed_through(again, "s", 19) == seq_range(19, 19));
}
