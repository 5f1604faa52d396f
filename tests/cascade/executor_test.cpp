// A bus on the application's own executor (bus_options::executor) rather than a pool of its own.
#include "test_domain.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <set>

using namespace test_domain;
using cascade::cascade_status;
using cascade::context;
using namespace std::chrono_literals;

TEST_CASE("a bus on the application's io_context runs its handlers there", "[executor]") {
    running_context app;
    std::thread::id app_thread;
    asio::post(app.io, asio::use_future([&] { app_thread = std::this_thread::get_id(); })).get();

    cascade::bus bus{{.threads = 2, .executor = app.io.get_executor()}};
    std::mutex mutex;
    std::set<std::thread::id> handler_threads;
    std::map<std::string, std::vector<int>> order;
    bus.subscribe<noted>("note", [&](const noted& n, context&) -> asio::awaitable<void> {
        co_await pause(10us);
        const std::scoped_lock lock{mutex};
        handler_threads.insert(std::this_thread::get_id());
        order[n.key].push_back(n.seq);
    });
    for (int i = 0; i < 300; ++i) {
        REQUIRE(bus.try_submit(cascade::any_message{noted{.key = "k" + std::to_string(i % 3), .seq = i}}));
    }
    // A submission from a coroutine on the same context completes there.
    auto out = asio::co_spawn(
                   app.io,
                   [&]() -> asio::awaitable<cascade::outcome> {
                       cascade::any_message msg{noted{.key = "k0", .seq = 1000}};
                       co_return co_await bus.submit(std::move(msg));
                   },
                   asio::use_future)
                   .get();
    CHECK(out.status == cascade_status::ok);
    REQUIRE(bus.wait_idle(generous));
    const std::scoped_lock lock{mutex};
    CHECK(handler_threads == std::set<std::thread::id>{app_thread});
    for (const auto& [key, seqs] : order) {
        CHECK(std::is_sorted(seqs.begin(), seqs.end()));
    }
}

TEST_CASE("a bus on the application's executor cancels at its deadline and reports", "[executor][shutdown]") {
    running_context app;
    gate never;
    std::atomic<int> started{0};
    cascade::bus bus{{.threads = 1, .executor = app.io.get_executor()}};
    bus.handle<double_it>("double_it", [&](const double_it& cmd, context& ctx) -> asio::awaitable<int> {
        ctx.raise(noted{.key = cmd.key, .seq = 1});
        co_return cmd.value * 2;
    });
    bus.subscribe<noted>("stuck", [&](const noted&, context&) -> asio::awaitable<void> {
        ++started;
        co_await never.wait();
    });
    auto cut = submit_now(bus, double_it{.key = "a", .value = 2, .raise = 0});
    auto queued = submit_now(bus, noted{.key = "a", .seq = 2});
    REQUIRE(eventually([&] { return started.load() == 1; }));

    CHECK_FALSE(bus.shutdown(10ms));
    const auto first = cut.get();
    CHECK(first.status == cascade_status::partial);
    CHECK(first.result == 4);
    CHECK(first.errors.at(0).code == "unfinished");
    CHECK(queued.get().errors.at(0).code == "cancelled");
    CHECK(bus.wait_idle(0s));
    // The stuck handler's runner still waits in the application's context; the bus object may go
    // first (the runner keeps what it needs alive), and the gate lets it finish afterwards.
}

TEST_CASE("a bus on the application's executor may be destroyed while a handler is suspended", "[executor][shutdown]") {
    running_context app;
    auto later = std::make_shared<gate>();
    std::atomic<int> started{0};
    std::atomic<int> finished{0};
    std::promise<cascade::outcome> reported;
    {
        cascade::bus bus{{.threads = 1, .executor = app.io.get_executor()}};
        bus.subscribe<noted>("slow", [later, &started, &finished](const noted&, context&) -> asio::awaitable<void> {
            ++started;
            co_await later->wait();
            ++finished;
        });
        REQUIRE(bus.try_submit(cascade::any_message{noted{.key = "a", .seq = 1}},
                               {.on_done = [&](cascade::outcome out) { reported.set_value(std::move(out)); }}));
        REQUIRE(eventually([&] { return started.load() == 1; }));
    }  // ~bus while the handler waits
    const auto out = reported.get_future().get();
    CHECK(out.errors.at(0).code == "cancelled");
    later->open();  // the handler resumes after its bus is gone, and its runner ends quietly
    CHECK(eventually([&] { return finished.load() == 1; }));
}
