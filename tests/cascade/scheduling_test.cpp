// Per-aggregate lanes: serial within a key, parallel across keys, reclaimed when idle.
#include "test_domain.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace test_domain;
using cascade::context;

TEST_CASE("handlers of one aggregate never overlap and keep its order", "[scheduling]") {
    constexpr int keys = 100;
    constexpr int messages = 10'000;
    cascade::bus bus{{.threads = 4}};

    struct key_state {
        std::atomic<int> inside{0};
        int last_seq = -1;  // only touched by the key's own lane
        bool in_order = true;
    };
    std::array<key_state, keys> state;
    std::atomic<int> overlaps{0};

    bus.subscribe<noted>("slow_note", [&](const noted& n, context&) -> asio::awaitable<void> {
        auto& s = state[static_cast<std::size_t>(std::stoi(n.key))];
        if (s.inside.fetch_add(1) != 0) {
            ++overlaps;
        }
        s.in_order = s.in_order && n.seq > s.last_seq;
        s.last_seq = n.seq;
        co_await pause(std::chrono::microseconds{50});  // suspends: another handler could run now
        s.inside.fetch_sub(1);
    });

    for (int i = 0; i < messages; ++i) {
        REQUIRE(bus.try_submit(cascade::any_message{noted{.key = std::to_string(i % keys), .seq = i}}));
    }
    REQUIRE(bus.wait_idle(generous));

    CHECK(overlaps == 0);
    for (const auto& s : state) {
        CHECK(s.in_order);
        CHECK(s.last_seq >= messages - keys);
    }
    CHECK(bus.metrics().handled == messages);
}

TEST_CASE("handlers of different aggregates overlap", "[scheduling]") {
    cascade::bus bus{{.threads = 2}};
    std::atomic<int> started{0};
    std::atomic<int> saw_both{0};

    // Each handler waits, suspended, until the other has started. On one serial lane the first
    // would wait alone until its bound runs out, and saw_both would stay below 2.
    bus.subscribe<noted>("rendezvous", [&](const noted&, context&) -> asio::awaitable<void> {
        ++started;
        for (int spins = 0; spins < 20'000 && started.load() < 2; ++spins) {
            co_await pause(std::chrono::microseconds{500});
        }
        if (started.load() == 2) {
            ++saw_both;
        }
    });

    REQUIRE(bus.try_submit(cascade::any_message{noted{.key = "left", .seq = 1}}));
    REQUIRE(bus.try_submit(cascade::any_message{noted{.key = "right", .seq = 1}}));
    REQUIRE(bus.wait_idle(generous));
    CHECK(saw_both == 2);
}

TEST_CASE("handlers of different aggregates run on several threads", "[scheduling]") {
    cascade::bus bus{{.threads = 2}};
    std::mutex mutex;
    std::set<std::thread::id> threads;
    std::atomic<int> busy{0};
    bus.subscribe<noted>("where", [&](const noted&, context&) -> asio::awaitable<void> {
        {
            const std::scoped_lock lock{mutex};
            threads.insert(std::this_thread::get_id());
        }
        // Keep the thread busy a little, so the other thread picks up the next lane.
        for (int i = 0; i < 20'000; ++i) {
            busy.fetch_add(1, std::memory_order_relaxed);
        }
        co_return;
    });
    for (int i = 0; i < 2'000; ++i) {
        REQUIRE(bus.try_submit(cascade::any_message{noted{.key = std::to_string(i), .seq = i}}));
    }
    REQUIRE(bus.wait_idle(generous));
    CHECK(threads.size() == 2);
}

TEST_CASE("idle aggregates are reclaimed", "[scheduling]") {
    cascade::bus bus{{.threads = 2}};
    std::atomic<std::size_t> peak_lanes{0};
    bus.subscribe<noted>("observe", [&](const noted&, context&) -> asio::awaitable<void> {
        auto seen = bus.active_lanes();
        auto peak = peak_lanes.load();
        while (seen > peak && !peak_lanes.compare_exchange_weak(peak, seen)) {
        }
        co_await pause(std::chrono::microseconds{10});
    });
    for (int i = 0; i < 5'000; ++i) {
        REQUIRE(bus.try_submit(cascade::any_message{noted{.key = "agg-" + std::to_string(i % 1'000), .seq = i}}));
    }
    REQUIRE(bus.wait_idle(generous));
    CHECK(peak_lanes > 1);
    CHECK(bus.active_lanes() == 0);
    CHECK(bus.metrics().active_lanes == 0);
    CHECK(bus.metrics().resident_lanes == 0);  // warm lanes go as soon as the bus is idle
    CHECK(bus.metrics().queued == 0);
}
