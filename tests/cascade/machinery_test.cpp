// When the bus's own machinery throws (here: the timer a retry backs off on), the cascade ends
// with an honest error and the lane goes on.
#include "test_domain.hpp"

#include <catch2/catch.hpp>

#include <atomic>

using namespace test_domain;
using cascade::cascade_status;
using cascade::context;

namespace {

class throwing_delays final : public cascade::delay_timer {
public:
    asio::awaitable<void> wait(std::chrono::nanoseconds) override {
        throw std::runtime_error{"timer broke"};
        co_return;
    }
};

}  // namespace

TEST_CASE("a retry whose backoff timer throws ends with an internal error and frees the lane", "[machinery]") {
    // Issue 10, bug 4: the throw escaped the handler's try, the runner died holding the lane, the
    // next message on that key never ran and the cascade said "cancelled by shutdown". Fails on
    // 6a92baa (wait_idle times out, active_lanes stays 1).
    const std::size_t threads = GENERATE(1, 2);
    CAPTURE(threads);
    cascade::bus bus{{.threads = threads, .delays = std::make_shared<throwing_delays>()}};
    std::atomic<int> later_runs{0};
    bus.subscribe<noted>("flaky", [&](const noted& n, context&) -> asio::awaitable<void> {
        if (n.seq == 1) {
            throw std::runtime_error{"first fails"};
        }
        ++later_runs;
        co_return;
    });

    auto first = submit_now(bus, noted{.key = "k", .seq = 1});
    auto second = submit_now(bus, noted{.key = "k", .seq = 2});  // the same lane, behind it

    const auto failed = first.get();
    CHECK(failed.status == cascade_status::partial);
    REQUIRE(failed.errors.size() == 1);
    CHECK(failed.errors[0].code == "internal");
    CHECK(failed.errors[0].handler == "flaky");
    CHECK_THAT(failed.errors[0].message, Catch::Contains("timer broke") && Catch::Contains("first fails"));
    CHECK(second.get().status == cascade_status::ok);
    REQUIRE(bus.wait_idle(generous));
    CHECK(bus.active_lanes() == 0);
    CHECK(later_runs == 1);
    const auto letters = bus.dead_letters();
    REQUIRE(letters.size() == 1);  // given up: kept for inspection like any other dead letter
    CHECK(letters[0].attempts == 1);
}
