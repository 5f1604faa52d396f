// Bounded admission, shutdown, metrics.
#include "test_domain.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/experimental/concurrent_channel.hpp>

#include <atomic>
#include <future>

using namespace test_domain;
using cascade::admission;
using cascade::context;
using namespace std::chrono_literals;

namespace {

/// A gate that handlers wait on until the test opens it.
class gate {
public:
    explicit gate(const asio::any_io_executor& ex) : channel_{ex, 1} {}
    asio::awaitable<void> pass() {
        co_await channel_.async_receive(asio::use_awaitable);
        channel_.try_send(boost::system::error_code{});  // let the next one through too
    }
    void open() { channel_.try_send(boost::system::error_code{}); }

private:
    asio::experimental::concurrent_channel<void(boost::system::error_code)> channel_;
};

}  // namespace

TEST_CASE("try_submit refuses beyond the cap and submit waits for room", "[bounded]") {
    cascade::bus bus{{.threads = 2, .max_queued = 4}};
    gate g{bus.executor()};
    std::atomic<int> handled{0};
    bus.subscribe<noted>("gated", [&](const noted&, context&) -> asio::awaitable<void> {
        co_await g.pass();
        ++handled;
    });

    for (int i = 0; i < 4; ++i) {
        REQUIRE(bus.try_submit(cascade::any_message{noted{.key = "a", .seq = i}}));
    }
    const auto refused = bus.try_submit(cascade::any_message{noted{.key = "b", .seq = 99}});
    CHECK(refused.status == admission::overloaded);
    CHECK(refused.id == 0);
    CHECK(bus.metrics().queued == 4);

    // A waiting submission completes once the gate lets the queue drain.
    auto waiting = bus.async_submit(cascade::any_message{noted{.key = "b", .seq = 5}}, asio::use_future);
    CHECK(waiting.wait_for(0s) == std::future_status::timeout);
    g.open();
    CHECK(waiting.get().status == cascade::cascade_status::ok);
    REQUIRE(bus.wait_idle(generous));
    CHECK(handled == 5);
}

TEST_CASE("publish waits for room without tracking the outcome", "[bounded]") {
    cascade::bus bus{{.threads = 2, .max_queued = 8}};
    std::atomic<int> handled{0};
    bus.subscribe<noted>("count", [&](const noted&, context&) -> asio::awaitable<void> {
        co_await pause(1us);
        ++handled;
    });
    asio::co_spawn(
        bus.executor(),
        [&]() -> asio::awaitable<void> {
            for (int i = 0; i < 1'000; ++i) {
                cascade::any_message msg{noted{.key = std::to_string(i % 16), .seq = i}};
                (void)co_await bus.publish(std::move(msg));
                CHECK(bus.metrics().queued <= 8);
            }
        },
        asio::use_future)
        .get();
    REQUIRE(bus.wait_idle(generous));
    CHECK(handled == 1'000);
}

TEST_CASE("events raised inside an admitted cascade are never refused", "[bounded]") {
    cascade::bus bus{{.threads = 2, .max_queued = 2}};
    bus.subscribe<hop>("hop_on", [](const hop& h, context& ctx) -> asio::awaitable<void> {
        for (int fan = 0; fan < 3 && h.remaining > 0; ++fan) {
            ctx.raise(hop{.key = h.key + std::to_string(fan), .remaining = h.remaining - 1});
        }
        co_return;
    });
    const auto out = run(bus, hop{.key = "k", .remaining = 4});
    CHECK(out.status == cascade::cascade_status::ok);
    CHECK(out.events.size() == 3 + 9 + 27 + 81);
}

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
    bus.subscribe<noted>(
        "stuck",
        [&](const noted&, context&) -> asio::awaitable<void> {
            ++started;
            co_await pause(1h);  // only cancellation ends this
        },
        cascade::retry_policy::no_retry());

    auto stuck = submit_now(bus, noted{.key = "a", .seq = 1});
    auto queued_behind = submit_now(bus, noted{.key = "a", .seq = 2});
    while (started.load() == 0) {
        std::this_thread::yield();  // the handler is about to block; nothing to wait for but that
    }

    CHECK_FALSE(bus.shutdown(10ms));

    const auto first = stuck.get();
    CHECK(first.status == cascade::cascade_status::partial);
    REQUIRE(first.errors.size() == 1);
    CHECK(first.errors[0].code == "cancelled");
    const auto second = queued_behind.get();
    REQUIRE(second.errors.size() == 1);
    CHECK(second.errors[0].code == "cancelled");
    CHECK(started == 1);  // the queued one was never started
    CHECK(bus.metrics().queued == 0);
    CHECK(bus.active_lanes() == 0);
}

TEST_CASE("a bus destroyed while work is queued cancels it without leaking", "[shutdown]") {
    std::atomic<int> started{0};
    {
        cascade::bus bus{{.threads = 2}};
        bus.subscribe<noted>("stuck", [&](const noted&, context&) -> asio::awaitable<void> {
            ++started;
            co_await pause(1h);
        });
        for (int i = 0; i < 100; ++i) {
            REQUIRE(bus.try_submit(cascade::any_message{noted{.key = std::to_string(i % 10), .seq = i}}));
        }
    }  // ~bus: cancel, drain, join
    CHECK(started <= 100);
}

TEST_CASE("metrics count what happened", "[metrics]") {
    cascade::bus bus{{.threads = 2}};
    bus.subscribe<noted>(
        "sometimes",
        [](const noted& n, context&) -> asio::awaitable<void> {
            if (n.seq % 2 == 1) {
                throw std::runtime_error{"odd"};
            }
            co_return;
        },
        cascade::retry_policy::no_retry());
    bus.declare<ignored>();
    for (int i = 0; i < 10; ++i) {
        REQUIRE(bus.try_submit(cascade::any_message{noted{.key = "a", .seq = i}}));
    }
    REQUIRE(bus.try_submit(cascade::any_message{ignored{.key = "b"}}));
    REQUIRE(bus.wait_idle(generous));
    const auto m = bus.metrics();
    CHECK(m.submitted == 11);
    CHECK(m.handled == 5);
    CHECK(m.failed == 5);
    CHECK(m.dead_lettered == 5);
    CHECK(m.unhandled == 1);
    CHECK(m.queued == 0);
    // One run in eight is timed, counted per thread: with two threads, 0 to 2 of these ten.
    CHECK(m.handler_latency.count <= 2);
    std::uint64_t buckets = 0;
    for (auto c : m.handler_latency.counts) {
        buckets += c;
    }
    CHECK(buckets == m.handler_latency.count);
}

TEST_CASE("the handler latency histogram samples one run in eight", "[metrics]") {
    cascade::bus bus{{.threads = 1}};
    bus.subscribe<noted>("quick", [](const noted&, context&) -> asio::awaitable<void> { co_return; });
    for (int i = 0; i < 64; ++i) {
        REQUIRE(bus.try_submit(cascade::any_message{noted{.key = std::to_string(i % 4), .seq = i}}));
    }
    REQUIRE(bus.wait_idle(generous));
    const auto histogram = bus.metrics().handler_latency;
    CHECK(histogram.count == 8);
    CHECK(histogram.sum.count() > 0);
    CHECK(histogram.quantile_bound_us(0.5) >= 1);
}

TEST_CASE("wait_for_room lets a refused producer keep its message", "[bounded]") {
    cascade::bus bus{{.threads = 2, .max_queued = 4}};
    std::atomic<int> handled{0};
    bus.subscribe<noted>("count", [&](const noted&, context&) -> asio::awaitable<void> {
        co_await pause(1us);
        ++handled;
    });
    const int refusals = asio::co_spawn(
                             bus.executor(),
                             [&]() -> asio::awaitable<int> {
                                 int refused = 0;
                                 for (int i = 0; i < 200; ++i) {
                                     const cascade::any_message msg{noted{.key = std::to_string(i % 8), .seq = i}};
                                     while (!bus.try_submit(msg)) {
                                         ++refused;
                                         co_await bus.wait_for_room();
                                     }
                                 }
                                 co_return refused;
                             },
                             asio::use_future)
                             .get();
    REQUIRE(bus.wait_idle(generous));
    CHECK(handled == 200);
    CHECK(refusals > 0);  // the bound was reached, and every refused message still went through
}
