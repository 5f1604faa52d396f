// The thread-safe half of a session (the bounded outgoing queue, the ids in flight) and the feed.
#include "gateway/outbox.hpp"

#include "gateway/live_feed.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

using gateway::outbox;

namespace {

class counting_waker final : public gateway::outbox_waker {
public:
    void wake() noexcept override { ++wakes; }
    void overflowed() noexcept override { ++overflows; }
    std::atomic<int> wakes{0};
    std::atomic<int> overflows{0};
};

struct feed_event {
    static constexpr std::string_view name = "FeedEvent";
    static constexpr cascade::message_kind kind = cascade::message_kind::event;
    std::string key;
    [[nodiscard]] std::string_view aggregate() const noexcept { return key; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(feed_event, key)

cascade::envelope envelope_of(std::string key) {
    return {.id = 1,
            .causation_id = 0,
            .correlation_id = 1,
            .depth = 0,
            .timestamp = {},
            .message = cascade::any_message{feed_event{std::move(key)}}};
}

}  // namespace

TEST_CASE("frames queue in order and the writer takes them all at once", "[server][outbox]") {
    outbox conn{{.max_frames = 10, .max_bytes = 1000}, "bye"};
    CHECK(conn.send("a"));
    CHECK(conn.send("b"));
    std::vector<std::string> batch;
    CHECK(conn.take(batch) == outbox::queue_state::open);
    CHECK(batch == std::vector<std::string>{"a", "b"});
    conn.written(2, 2);
    CHECK(conn.quiescent());
}

TEST_CASE("a waiting writer is woken once per idle period", "[server][outbox]") {
    counting_waker waker;
    outbox conn{{}, "bye"};
    conn.attach(&waker);
    std::vector<std::string> batch;
    CHECK(conn.take(batch) == outbox::queue_state::open);  // empty: the writer waits
    CHECK(conn.send("a"));
    CHECK(conn.send("b"));
    CHECK(waker.wakes == 1);
    CHECK(conn.take(batch) == outbox::queue_state::open);
    conn.kick();  // the writer is busy: no wake-up needed
    CHECK(waker.wakes == 1);
    conn.attach(nullptr);
}

TEST_CASE("passing a bound drops the queue and leaves only the disconnect frame", "[server][outbox]") {
    counting_waker waker;
    outbox conn{{.max_frames = 3, .max_bytes = 1000}, "bye"};
    conn.attach(&waker);
    CHECK(conn.send("1"));
    CHECK(conn.send("2"));
    CHECK(conn.send("3"));
    CHECK_FALSE(conn.send("4"));
    CHECK(waker.overflows == 1);
    CHECK_FALSE(conn.send("5"));  // nothing more is queued once overflowed
    CHECK(waker.overflows == 1);
    std::vector<std::string> batch;
    CHECK(conn.take(batch) == outbox::queue_state::overflowed);
    CHECK(batch == std::vector<std::string>{"bye"});

    outbox by_bytes{{.max_frames = 100, .max_bytes = 10}, "bye"};
    CHECK(by_bytes.send("12345"));
    CHECK_FALSE(by_bytes.send("123456"));
    batch.clear();
    CHECK(by_bytes.take(batch) == outbox::queue_state::overflowed);
    conn.attach(nullptr);
}

TEST_CASE("end_with queues the last frame, past the bound, and nothing after it", "[server][outbox]") {
    counting_waker waker;
    outbox conn{{.max_frames = 2, .max_bytes = 1000}, "bye"};
    conn.attach(&waker);
    std::vector<std::string> batch;
    CHECK(conn.take(batch) == outbox::queue_state::open);  // the writer waits
    CHECK(conn.send("1"));
    CHECK(conn.send("2"));
    CHECK(conn.end_with("expired"));  // a full queue still takes the last frame
    CHECK(waker.overflows == 0);
    CHECK_FALSE(conn.send("3"));
    CHECK_FALSE(conn.end_with("again"));
    CHECK(conn.reserve_submit("s1", 10) == outbox::reservation::closed);
    CHECK(conn.take(batch) == outbox::queue_state::ending);
    CHECK(batch == std::vector<std::string>{"1", "2", "expired"});
    conn.close();
    CHECK_FALSE(conn.end_with("after close"));
    conn.attach(nullptr);
}

TEST_CASE("frames the writer holds count against the bound until written", "[server][outbox]") {
    outbox conn{{.max_frames = 2, .max_bytes = 1000}, "bye"};
    CHECK(conn.send("1"));
    CHECK(conn.send("2"));
    std::vector<std::string> batch;
    (void)conn.take(batch);
    CHECK_FALSE(conn.send("3"));  // still two in the writer's hands
}

TEST_CASE("submit ids are reserved, capped, and freed with their terminal frame", "[server][outbox]") {
    outbox conn{{}, "bye"};
    CHECK(conn.reserve_submit("c1", 2) == outbox::reservation::reserved);
    CHECK(conn.reserve_submit("c1", 2) == outbox::reservation::duplicate);
    CHECK(conn.reserve_subscription("c1", 2) == outbox::reservation::duplicate);
    CHECK(conn.reserve_submit("c2", 2) == outbox::reservation::reserved);
    CHECK(conn.reserve_submit("c3", 2) == outbox::reservation::full);
    CHECK(conn.reserve_subscription("s1", 2) == outbox::reservation::reserved);  // a cap of its own
    CHECK(conn.is_subscription("s1"));
    CHECK_FALSE(conn.is_subscription("c1"));
    CHECK(conn.submits_in_flight() == 2);
    conn.complete_submit("c1", "done c1");
    CHECK_FALSE(conn.in_use("c1"));
    CHECK(conn.submits_in_flight() == 1);
    conn.release("c2");
    CHECK(conn.submits_in_flight() == 0);
    std::vector<std::string> batch;
    (void)conn.take(batch);
    CHECK(batch == std::vector<std::string>{"done c1"});
    conn.close();
    CHECK(conn.reserve_submit("c4", 2) == outbox::reservation::closed);
    CHECK_FALSE(conn.send("late"));
    batch.clear();
    CHECK(conn.take(batch) == outbox::queue_state::closed);
}

TEST_CASE("subscriptions are capped apart from submits, and freed when released", "[server][outbox]") {
    outbox conn{{}, "bye"};
    CHECK(conn.reserve_subscription("s1", 2) == outbox::reservation::reserved);
    CHECK(conn.reserve_subscription("s2", 2) == outbox::reservation::reserved);
    CHECK(conn.reserve_subscription("s3", 2) == outbox::reservation::full);
    CHECK(conn.reserve_subscription("s1", 2) == outbox::reservation::duplicate);  // in use beats full
    CHECK(conn.reserve_submit("c1", 1) == outbox::reservation::reserved);         // submits do not count
    conn.release("c1");
    CHECK(conn.reserve_subscription("s3", 2) == outbox::reservation::full);  // a submit freed nothing here
    conn.release("s2");
    CHECK(conn.reserve_subscription("s3", 2) == outbox::reservation::reserved);
}

TEST_CASE("many threads may send while the writer takes", "[server][outbox]") {
    outbox conn{{.max_frames = 1'000'000, .max_bytes = 100'000'000}, "bye"};
    constexpr int per_thread = 2'000;
    std::vector<std::thread> senders;
    for (int t = 0; t < 3; ++t) {
        senders.emplace_back([&] {
            for (int i = 0; i < per_thread; ++i) {
                (void)conn.send("frame");
            }
        });
    }
    std::size_t taken = 0;
    std::vector<std::string> batch;
    while (taken < 3 * per_thread) {
        batch.clear();
        (void)conn.take(batch);
        taken += batch.size();
        conn.written(batch.size(), batch.size() * 5);
    }
    for (auto& s : senders) {
        s.join();
    }
    CHECK(taken == 3 * per_thread);
    CHECK(conn.quiescent());
}

TEST_CASE("the live feed offers each event to the subscriptions whose filters match", "[server][live_feed]") {
    gateway::live_feed feed;
    auto a = std::make_shared<outbox>(gateway::queue_limits{}, "bye");
    auto b = std::make_shared<outbox>(gateway::queue_limits{}, "bye");
    (void)feed.add(a, "all", {});
    (void)feed.add(a, "k2-only", {.names = {}, .aggregates = {"k2"}});
    (void)feed.add(b, "by-name", {.names = {"Other", "FeedEvent"}, .aggregates = {}});
    (void)feed.add(b, "none", {.names = {"Other"}, .aggregates = {}});
    CHECK(feed.size() == 4);
    std::vector<std::string> from_a;
    std::vector<std::string> from_b;
    (void)a->take(from_a);
    (void)b->take(from_b);
    REQUIRE(from_a.size() == 2);  // each subscription's `subscribed` answer comes first
    CHECK(nlohmann::json::parse(from_a[0])["type"] == "subscribed");
    from_a.clear();
    from_b.clear();

    feed.publish(envelope_of("k1"));
    feed.publish(envelope_of("k2"));
    (void)a->take(from_a);
    (void)b->take(from_b);
    // In seq order; the frames of one event for two subscriptions come in no promised order.
    REQUIRE(from_a.size() == 3);
    std::vector<std::uint64_t> seqs;
    std::multiset<std::string> received;
    for (const auto& frame : from_a) {
        const auto parsed = nlohmann::json::parse(frame);
        seqs.push_back(parsed["seq"].get<std::uint64_t>());
        received.insert(parsed["sub"].get<std::string>() + " " + std::to_string(seqs.back()) + " " +
                        parsed["event"]["aggregate"].get<std::string>());
    }
    CHECK(std::is_sorted(seqs.begin(), seqs.end()));
    CHECK(received == std::multiset<std::string>{"all 1 k1", "all 2 k2", "k2-only 2 k2"});
    REQUIRE(from_b.size() == 2);
    CHECK(nlohmann::json::parse(from_b[0])["sub"] == "by-name");

    feed.remove(*a, "all");
    feed.remove_all(*b);
    CHECK(feed.size() == 1);
    feed.publish(envelope_of("k1"));
    from_a.clear();
    (void)a->take(from_a);
    CHECK(from_a.empty());
}
