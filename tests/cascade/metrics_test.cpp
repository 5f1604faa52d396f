// The counters and the latency histogram.
#include "test_domain.hpp"

#include <catch2/catch.hpp>

using namespace test_domain;
using cascade::context;

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
    CHECK(m.dropped == 0);
    CHECK(m.queued == 0);
    CHECK(m.waiting == 0);
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
