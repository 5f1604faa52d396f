// runner_pool on its own, with a lane server that records what it serves: parked runners take
// lanes, a new runner is spawned only when every runner is inside a handler, a stall is reported.
#include "runner_pool.hpp"

#include "test_domain.hpp"

#include <boost/asio/thread_pool.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <set>

using namespace test_domain;
using cascade::detail::lane;
using cascade::detail::lane_key;
using cascade::detail::lane_ref;
using cascade::detail::runner_pool;
using cascade::detail::runner_state;

namespace {

/// Serves a lane by "handling" one message: lanes named "stuck" wait on a gate inside a handler.
class recording_server final : public cascade::detail::lane_server {
public:
    asio::awaitable<void> serve(lane_ref l, runner_state& self) override {
        if (l.key->text == "stuck") {
            pool->enter_handler(self);
            stuck_entered = true;
            co_await stuck.wait();
            runner_pool::leave_handler(self);
        }
        const std::scoped_lock lock{mutex};
        served.insert(l.key->text);
    }
    [[nodiscard]] bool has_served(const std::string& key) {
        const std::scoped_lock lock{mutex};
        return served.contains(key);
    }

    runner_pool* pool = nullptr;
    gate stuck;
    std::atomic<bool> stuck_entered{false};
    std::mutex mutex;
    std::set<std::string> served;
};

/// Stalls are reported only while someone waits for room: here, always.
const std::atomic<std::size_t> always_waiting{1};

/// A lane the pool can be handed (the server only reads its key).
struct fake_lane {
    explicit fake_lane(std::string key) : key{.hash = 0, .text = std::move(key)} {}
    [[nodiscard]] lane_ref ref() { return {.target = &target, .key = &key}; }
    lane_key key;
    lane target;
};

}  // namespace

TEST_CASE("a runner inside a handler does not hold up other lanes: another is spawned", "[runners]") {
    asio::thread_pool threads{1};
    recording_server server;
    std::atomic<int> stalls{0};
    runner_pool pool{threads.get_executor(), server, always_waiting, [&] { ++stalls; }};
    server.pool = &pool;
    pool.start(1, nullptr);

    fake_lane stuck{"stuck"};
    fake_lane other{"other"};
    pool.activate(stuck.ref());
    REQUIRE(eventually([&] { return server.stuck_entered.load(); }));  // the only runner is inside a handler
    CHECK(stalls.load() > 0);                                          // and reported that no runner serves any more
    pool.activate(other.ref());
    CHECK(eventually([&] { return server.has_served("other"); }));  // served while "stuck" waits
    CHECK_FALSE(server.has_served("stuck"));

    server.stuck.open();
    CHECK(eventually([&] { return server.has_served("stuck"); }));
    pool.close();
    threads.join();
}

TEST_CASE("parked runners take activated lanes, closing ends them", "[runners]") {
    asio::thread_pool threads{2};
    recording_server server;
    std::atomic<int> stalls{0};
    runner_pool pool{threads.get_executor(), server, always_waiting, [&] { ++stalls; }};
    server.pool = &pool;
    pool.start(2, nullptr);
    REQUIRE(eventually([&] { return stalls.load() > 0; }));  // both parked: the last one reports it

    std::vector<std::unique_ptr<fake_lane>> lanes;
    for (int i = 0; i < 20; ++i) {
        lanes.push_back(std::make_unique<fake_lane>("lane-" + std::to_string(i)));
        pool.activate(lanes.back()->ref());
    }
    CHECK(eventually([&] {
        const std::scoped_lock lock{server.mutex};
        return server.served.size() == 20;
    }));
    pool.close();
    fake_lane late{"late"};
    pool.activate(late.ref());  // ignored once closed
    threads.join();             // returns: every runner has ended
    CHECK_FALSE(server.has_served("late"));
}
