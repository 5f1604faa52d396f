// Shutdown: cascades finish until the deadline, then the rest is cancelled, and every
// unfinished cascade reports, honestly and exactly once, whatever way it was submitted.
#include "test_domain.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <mutex>
#include <set>

using namespace test_domain;
using cascade::admission;
using cascade::cascade_status;
using cascade::context;
using namespace std::chrono_literals;

TEST_CASE("shutdown lets running cascades finish, then refuses", "[shutdown]") {
    cascade::bus bus{{.threads = 2}};
    std::atomic<int> handled{0};
    bus.subscribe<hop>("hop_on", [&](const hop& h, context& ctx) -> asio::awaitable<void> {
        co_await pause(100us);
        ++handled;
        if (h.remaining > 0) {
            ctx.raise(hop{.key = h.key, .remaining = h.remaining - 1});
        }
    });
    auto pending = submit_now(bus, hop{.key = "a", .remaining = 20});
    CHECK(bus.shutdown(generous));
    CHECK(pending.get().events.size() == 20);
    CHECK(handled == 21);

    CHECK_FALSE(bus.accepting());
    CHECK(bus.try_submit(cascade::any_message{hop{.key = "a", .remaining = 0}}).status == admission::shutting_down);
    auto refused = bus.async_submit(cascade::any_message{hop{.key = "a", .remaining = 0}}, asio::use_future);
    CHECK_THROWS_AS(refused.get(), cascade::bus_closed);
}

TEST_CASE("shutdown cancels what is still running after its deadline", "[shutdown]") {
    cascade::bus bus{{.threads = 2}};
    std::atomic<int> started{0};
    gate never;
    bus.subscribe<noted>(
        "stuck",
        [&](const noted&, context&) -> asio::awaitable<void> {
            ++started;
            co_await never.wait();  // only cancellation ends this
        },
        cascade::retry_policy::no_retry());

    auto stuck = submit_now(bus, noted{.key = "a", .seq = 1});
    auto queued_behind = submit_now(bus, noted{.key = "a", .seq = 2});
    REQUIRE(eventually([&] { return started.load() == 1; }));

    CHECK_FALSE(bus.shutdown(10ms));

    const auto first = stuck.get();
    CHECK(first.status == cascade_status::partial);
    REQUIRE(first.errors.size() == 1);
    CHECK(first.errors[0].code == "cancelled");
    const auto second = queued_behind.get();
    REQUIRE(second.errors.size() == 1);
    CHECK(second.errors[0].code == "cancelled");
    CHECK(started == 1);  // the queued one was never started
    CHECK(bus.metrics().queued == 0);
    CHECK(bus.active_lanes() == 0);
    CHECK(bus.wait_idle(0s));
    // A cancelled bus takes no more work.
    CHECK(bus.try_submit(cascade::any_message{noted{.key = "b", .seq = 3}}).status == admission::shutting_down);
}

TEST_CASE("a cancelled command fails, a cascade cut after its command reports what the command did", "[shutdown]") {
    cascade::bus bus{{.threads = 2}};
    gate never;
    std::atomic<int> stuck{0};
    bus.handle<double_it>("double_it", [&](const double_it& cmd, context& ctx) -> asio::awaitable<int> {
        if (cmd.value < 0) {
            ++stuck;
            co_await never.wait();
        }
        ctx.raise(noted{.key = cmd.key + "-next", .seq = 1});
        co_return cmd.value * 2;
    });
    bus.subscribe<noted>("stuck_event", [&](const noted&, context&) -> asio::awaitable<void> {
        ++stuck;
        co_await never.wait();
    });

    auto cut_after = submit_now(bus, double_it{.key = "a", .value = 21, .raise = 0});
    auto cut_during = submit_now(bus, double_it{.key = "b", .value = -1, .raise = 0});
    REQUIRE(eventually([&] { return stuck.load() == 2; }));
    CHECK_FALSE(bus.shutdown(10ms));

    const auto after = cut_after.get();
    CHECK(after.status == cascade_status::partial);
    CHECK(after.result == 42);  // the command did its work: that is reported, not a cancellation
    REQUIRE(after.events.size() == 1);
    REQUIRE(after.errors.size() == 1);
    CHECK(after.errors[0].code == "unfinished");
    CHECK(after.errors[0].handled_id == after.events[0].id);

    const auto during = cut_during.get();
    CHECK(during.status == cascade_status::failed);
    CHECK(during.result.is_null());
    REQUIRE(during.errors.size() == 1);
    CHECK(during.errors[0].code == "cancelled");
}

TEST_CASE("every cascade cut by shutdown reports exactly once, however much is queued", "[shutdown]") {
    const std::size_t threads = GENERATE(1, 2);
    CAPTURE(threads);
    cascade::bus bus{{.threads = threads}};
    bus.subscribe<hop>("hop_on", [](const hop& h, context& ctx) -> asio::awaitable<void> {
        co_await pause(50us);
        if (h.remaining > 0) {
            ctx.raise(hop{.key = h.key + "+", .remaining = h.remaining - 1});
        }
    });
    constexpr int cascades = 5'000;
    std::mutex mutex;
    std::multiset<cascade::message_id> reported;
    std::set<cascade::message_id> admitted;
    for (int i = 0; i < cascades; ++i) {
        const auto result =
            bus.try_submit(cascade::any_message{hop{.key = "k" + std::to_string(i % 50), .remaining = 3}},
                           {.on_done = [&](cascade::outcome out) {
                               const std::scoped_lock lock{mutex};
                               reported.insert(out.id);
                           }});
        REQUIRE(result);
        const std::scoped_lock lock{mutex};
        admitted.insert(result.id);
    }
    (void)bus.shutdown(1ms);  // most are still queued
    const std::scoped_lock lock{mutex};
    CHECK(reported.size() == admitted.size());
    CHECK(std::set<cascade::message_id>(reported.begin(), reported.end()) == admitted);
    CHECK(bus.metrics().queued == 0);
}

TEST_CASE("async_submit reports a cancelled outcome through any completion token", "[shutdown]") {
    // Issue 10, bug 3: the submit ran as a coroutine on the bus's own pool, which the cancelling
    // shutdown destroyed: use_future gave "Broken promise". Fails on 6a92baa.
    cascade::bus bus{{.threads = 2}};
    gate never;
    std::atomic<int> started{0};
    bus.subscribe<noted>("stuck", [&](const noted&, context&) -> asio::awaitable<void> {
        ++started;
        co_await never.wait();
    });
    running_context app;

    auto by_future = bus.async_submit(cascade::any_message{noted{.key = "a", .seq = 1}}, asio::use_future);
    std::promise<cascade::outcome> by_callback;
    bus.async_submit(cascade::any_message{noted{.key = "b", .seq = 2}},
                     [&](std::exception_ptr, cascade::outcome out) { by_callback.set_value(std::move(out)); });
    auto by_coroutine = asio::co_spawn(
        app.io,
        [&]() -> asio::awaitable<std::pair<cascade::outcome, std::thread::id>> {
            cascade::any_message msg{noted{.key = "c", .seq = 3}};
            auto out = co_await bus.submit(std::move(msg));
            co_return std::pair{std::move(out), std::this_thread::get_id()};
        },
        asio::use_future);
    std::thread::id app_thread;
    asio::post(app.io, asio::use_future([&] { app_thread = std::this_thread::get_id(); })).get();
    REQUIRE(eventually([&] { return started.load() == 3; }));

    CHECK_FALSE(bus.shutdown(10ms));

    auto [from_coroutine, completed_on] = by_coroutine.get();
    for (const auto& out : {by_future.get(), by_callback.get_future().get(), from_coroutine}) {
        CHECK(out.status == cascade_status::partial);
        REQUIRE(out.errors.size() == 1);
        CHECK(out.errors[0].code == "cancelled");
    }
    CHECK(completed_on == app_thread);  // completed on the caller's executor
}

TEST_CASE("the bus's executor stays valid after a cancelling shutdown", "[shutdown]") {
    // Issue 10, bug 6: the cancellation destroyed the pool and built another, so an executor taken
    // before pointed at freed memory (AddressSanitizer reports it on 6a92baa).
    cascade::bus bus{{.threads = 2}};
    gate never;
    std::atomic<int> started{0};
    bus.subscribe<noted>("stuck", [&](const noted&, context&) -> asio::awaitable<void> {
        ++started;
        co_await never.wait();
    });
    const auto before = bus.executor();
    asio::steady_timer timer_before{before, 1h};
    REQUIRE(bus.try_submit(cascade::any_message{noted{.key = "a", .seq = 1}}));
    REQUIRE(eventually([&] { return started.load() == 1; }));
    CHECK_FALSE(bus.shutdown(10ms));

    CHECK(before == bus.executor());
    asio::steady_timer timer_after{before, 1h};  // an I/O object on the old executor still works
    timer_before.cancel();
    asio::post(before, [] {});  // accepted, never run: the bus's threads have stopped
}

TEST_CASE("a bus destroyed while work is queued cancels it without leaking", "[shutdown]") {
    std::atomic<int> started{0};
    std::atomic<int> reported{0};
    {
        cascade::bus bus{{.threads = 2}};
        bus.subscribe<noted>("stuck", [&](const noted&, context&) -> asio::awaitable<void> {
            ++started;
            co_await pause(1h);
        });
        for (int i = 0; i < 100; ++i) {
            REQUIRE(bus.try_submit(cascade::any_message{noted{.key = std::to_string(i % 10), .seq = i}},
                                   {.on_done = [&](cascade::outcome) { ++reported; }}));
        }
    }  // ~bus: cancel, report, join
    CHECK(started <= 100);
    CHECK(reported == 100);
}
