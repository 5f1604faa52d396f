// Retry policy, backoff through a replaceable timer, dead letters.
#include "test_domain.hpp"

#include <catch2/catch.hpp>

#include <mutex>
#include <set>

using namespace test_domain;
using cascade::context;
using cascade::retry_policy;
using namespace std::chrono_literals;

namespace {

/// Records every requested backoff and returns at once: no real time passes.
class recording_delays final : public cascade::delay_timer {
public:
    asio::awaitable<void> wait(std::chrono::nanoseconds delay) override {
        const std::scoped_lock lock{mutex_};
        delays_.push_back(delay);
        co_return;
    }
    [[nodiscard]] std::vector<std::chrono::nanoseconds> delays() const {
        const std::scoped_lock lock{mutex_};
        return delays_;
    }

private:
    mutable std::mutex mutex_;
    std::vector<std::chrono::nanoseconds> delays_;
};

constexpr retry_policy exact_policy{
    .max_attempts = 4, .initial_backoff = 10ms, .multiplier = 2.0, .max_backoff = 1s, .jitter = 0.0};

}  // namespace

TEST_CASE("backoff grows exponentially up to its cap", "[retry]") {
    const retry_policy policy{
        .max_attempts = 10, .initial_backoff = 10ms, .multiplier = 3.0, .max_backoff = 200ms, .jitter = 0.0};
    CHECK(policy.backoff(1, 0.5) == 10ms);
    CHECK(policy.backoff(2, 0.5) == 30ms);
    CHECK(policy.backoff(3, 0.5) == 90ms);
    CHECK(policy.backoff(4, 0.5) == 200ms);
    CHECK(policy.backoff(9, 0.5) == 200ms);
}

TEST_CASE("jitter takes away at most its fraction of the backoff", "[retry]") {
    const retry_policy policy{
        .max_attempts = 3, .initial_backoff = 100ms, .multiplier = 2.0, .max_backoff = 1s, .jitter = 0.25};
    CHECK(policy.backoff(1, 0.0) == 100ms);
    CHECK(policy.backoff(1, 1.0) == 75ms);
    CHECK(policy.backoff(2, 0.5) == 175ms);
}

TEST_CASE("a handler that fails then succeeds is retried with backoff", "[retry]") {
    auto delays = std::make_shared<recording_delays>();
    cascade::bus bus{{.threads = 2, .delays = delays}};
    std::atomic<int> attempts{0};
    bus.subscribe<noted>(
        "flaky",
        [&](const noted& n, context& ctx) -> asio::awaitable<void> {
            ++attempts;
            ctx.raise(ignored{.key = n.key + "-attempt-" + std::to_string(ctx.attempt())});
            if (ctx.attempt() < 3) {
                throw std::runtime_error{"not yet"};
            }
            co_return;
        },
        exact_policy);
    bus.declare<ignored>();

    const auto out = run(bus, noted{.key = "a", .seq = 1});

    CHECK(out.status == cascade::cascade_status::ok);
    CHECK(attempts == 3);
    CHECK(delays->delays() == std::vector<std::chrono::nanoseconds>{10ms, 20ms});
    REQUIRE(out.events.size() == 1);  // only the successful attempt's event survives
    CHECK(out.events[0].aggregate() == "a-attempt-3");
    const auto m = bus.metrics();
    CHECK(m.failed == 2);
    CHECK(m.retried == 2);
    CHECK(m.dead_lettered == 0);
    CHECK(bus.dead_letters().empty());
}

TEST_CASE("a handler that keeps failing is dead-lettered after its attempts", "[retry]") {
    auto delays = std::make_shared<recording_delays>();
    cascade::bus bus{{.threads = 2, .delays = delays}};
    std::atomic<int> attempts{0};
    std::atomic<int> after_runs{0};
    bus.subscribe<noted>(
        "hopeless",
        [&](const noted&, context&) -> asio::awaitable<void> {
            ++attempts;
            throw std::runtime_error{"database unreachable"};
            co_return;
        },
        exact_policy);
    bus.subscribe<ignored>("after", [&](const ignored&, context&) -> asio::awaitable<void> {
        ++after_runs;
        co_return;
    });

    const auto out = run(bus, noted{.key = "a", .seq = 7});
    // The lane stays usable: the next message of the same aggregate is handled.
    const auto next = run(bus, ignored{.key = "a"});

    CHECK(out.status == cascade::cascade_status::partial);
    REQUIRE(out.errors.size() == 1);
    CHECK(out.errors[0].message == "database unreachable");
    CHECK(attempts == 4);
    CHECK(delays->delays() == std::vector<std::chrono::nanoseconds>{10ms, 20ms, 40ms});
    const auto letters = bus.dead_letters();
    REQUIRE(letters.size() == 1);
    CHECK(letters[0].handler == "hopeless");
    CHECK(letters[0].error == "database unreachable");
    CHECK(letters[0].attempts == 4);
    CHECK(letters[0].message.message.get_if<noted>()->seq == 7);
    CHECK(next.status == cascade::cascade_status::ok);
    CHECK(after_runs == 1);
    CHECK(bus.metrics().dead_lettered == 1);
}

TEST_CASE("the dead-letter list keeps the newest up to its capacity", "[retry]") {
    cascade::bus bus{{.threads = 1, .dead_letter_capacity = 3, .delays = std::make_shared<recording_delays>()}};
    bus.subscribe<noted>(
        "hopeless",
        [](const noted&, context&) -> asio::awaitable<void> {
            throw std::runtime_error{"no"};
            co_return;
        },
        retry_policy::no_retry());
    for (int i = 0; i < 5; ++i) {
        REQUIRE(bus.try_submit(cascade::any_message{noted{.key = "a", .seq = i}}));
    }
    REQUIRE(bus.wait_idle(generous));
    const auto letters = bus.dead_letters();
    REQUIRE(letters.size() == 3);
    CHECK(letters.front().message.message.get_if<noted>()->seq == 2);
    CHECK(letters.back().message.message.get_if<noted>()->seq == 4);
    CHECK(bus.metrics().dead_lettered == 5);
}

TEST_CASE("a lane is held across a retry: the next message of the aggregate waits for it", "[retry]") {
    // A real timer, so that the runner suspends during the backoff: another runner could take the
    // lane's next message then, if the lane were let go.
    cascade::bus bus{{.threads = 2}};
    std::mutex mutex;
    std::vector<std::pair<int, std::uint32_t>> order;  // (seq, attempt)
    bus.subscribe<noted>(
        "fails_once",
        [&](const noted& n, context& ctx) -> asio::awaitable<void> {
            {
                const std::scoped_lock lock{mutex};
                order.emplace_back(n.seq, ctx.attempt());
            }
            if (n.seq == 1 && ctx.attempt() == 1) {
                throw std::runtime_error{"once"};
            }
            co_return;
        },
        {.max_attempts = 3, .initial_backoff = 5ms, .multiplier = 2.0, .max_backoff = 1s, .jitter = 0.0});
    auto m1 = submit_now(bus, noted{.key = "k", .seq = 1});
    auto m2 = submit_now(bus, noted{.key = "k", .seq = 2});
    CHECK(m1.get().status == cascade::cascade_status::ok);
    CHECK(m2.get().status == cascade::cascade_status::ok);
    const std::scoped_lock lock{mutex};
    CHECK(order == std::vector<std::pair<int, std::uint32_t>>{{1, 1}, {1, 2}, {2, 1}});
}

TEST_CASE("jitter is applied: each backoff lies in [b (1 - jitter), b] and they differ", "[retry]") {
    auto delays = std::make_shared<recording_delays>();
    cascade::bus bus{{.threads = 1, .delays = delays}};
    bus.subscribe<noted>(
        "hopeless",
        [](const noted&, context&) -> asio::awaitable<void> {
            throw std::runtime_error{"no"};
            co_return;
        },
        {.max_attempts = 20, .initial_backoff = 10ms, .multiplier = 1.0, .max_backoff = 1s, .jitter = 0.5});
    (void)run(bus, noted{.key = "k", .seq = 1});
    const auto waited = delays->delays();
    REQUIRE(waited.size() == 19);
    for (const auto d : waited) {
        CHECK(d >= 5ms);
        CHECK(d <= 10ms);
    }
    CHECK(std::set<std::chrono::nanoseconds>(waited.begin(), waited.end()).size() > 1);
}
