// Submission, outcome, collection, command and event semantics.
#include "test_domain.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <ctime>
#include <map>
#include <mutex>
#include <string>
#include <vector>

using namespace test_domain;
using cascade::cascade_status;
using cascade::context;

namespace {

/// DoubleIt answers value * 2 and raises `raise` Noted events on its own key.
void register_double_it(cascade::bus& bus) {
    bus.handle<double_it>("double_it", [](const double_it& cmd, context& ctx) -> asio::awaitable<int> {
        for (int i = 1; i <= cmd.raise; ++i) {
            ctx.raise(noted{.key = cmd.key, .seq = i});
        }
        co_return cmd.value * 2;
    });
}

/// Each Hop raises the next one on key "k<remaining-1>" until none remain.
void register_hop(cascade::bus& bus) {
    bus.subscribe<hop>("hop_on", [](const hop& h, context& ctx) -> asio::awaitable<void> {
        if (h.remaining > 0) {
            ctx.raise(hop{.key = "k" + std::to_string(h.remaining - 1), .remaining = h.remaining - 1});
        }
        co_return;
    });
}

}  // namespace

TEST_CASE("a command's result, events and envelopes come back in its outcome", "[bus]") {
    cascade::bus bus{{.threads = 2}};
    register_double_it(bus);
    bus.declare<noted>();

    const auto out = run(bus, double_it{.key = "a", .value = 21, .raise = 3});

    CHECK(out.status == cascade_status::ok);
    CHECK(out.result == 42);
    CHECK(out.errors.empty());
    REQUIRE(out.events.size() == 3);
    for (std::size_t i = 0; i < out.events.size(); ++i) {
        const auto& env = out.events[i];
        CHECK(env.name() == "Noted");
        CHECK(env.message.get_if<noted>()->seq == static_cast<int>(i) + 1);  // collection order
        CHECK(env.causation_id == out.id);
        CHECK(env.correlation_id == out.id);
        CHECK(env.depth == 1);
        CHECK(env.aggregate() == "a");
        CHECK(env.id != out.id);
    }
    CHECK(bus.metrics().unhandled == 3);  // nobody handles Noted: counted, not an error
}

TEST_CASE("a handler reads its submitter's principal, and every event of the cascade inherits it", "[bus][principal]") {
    std::mutex mutex;
    std::vector<std::string> seen;  // "handler:principal", in the order the handlers ran
    cascade::bus bus{{.threads = 2}};
    const auto note = [&](const std::string& handler, const context& ctx) {
        const std::scoped_lock lock{mutex};
        seen.push_back(handler + ":" + ctx.envelope().principal);
    };
    bus.handle<double_it>("double_it", [&](const double_it& cmd, context& ctx) -> asio::awaitable<int> {
        note("double_it", ctx);
        ctx.raise(hop{.key = cmd.key, .remaining = cmd.raise});
        co_return cmd.value;
    });
    bus.subscribe<hop>("hop_on", [&](const hop& h, context& ctx) -> asio::awaitable<void> {
        note("hop", ctx);
        if (h.remaining > 0) {
            ctx.raise(hop{.key = h.key, .remaining = h.remaining - 1});
        }
        co_return;
    });

    // Not journaled: a principal needs no journal.
    const auto out =
        submit_now(bus, double_it{.key = "a", .value = 1, .raise = 2}, {.key = {}, .principal = "alice"}).get();
    REQUIRE(out.status == cascade_status::ok);
    REQUIRE(out.events.size() == 3);  // hops at depths 1, 2 and 3
    for (const auto& env : out.events) {
        CHECK(env.principal == "alice");
        CHECK(cascade::to_json(env).at("principal") == "alice");
    }
    CHECK(out.events.back().depth == 3);
    {
        const std::scoped_lock lock{mutex};
        CHECK(seen == std::vector<std::string>{"double_it:alice", "hop:alice", "hop:alice", "hop:alice"});
        seen.clear();
    }

    // Submitted without one, the next cascade has none, on its envelopes or on the wire.
    const auto anonymous = run(bus, double_it{.key = "b", .value = 1, .raise = 0});
    REQUIRE(anonymous.events.size() == 1);
    CHECK(anonymous.events[0].principal.empty());
    CHECK_FALSE(cascade::to_json(anonymous.events[0]).contains("principal"));
    const std::scoped_lock lock{mutex};
    CHECK(seen == std::vector<std::string>{"double_it:", "hop:"});
}

TEST_CASE("events cascade through handlers until nothing is left", "[bus]") {
    cascade::bus bus{{.threads = 2}};
    register_hop(bus);

    const auto out = run(bus, hop{.key = "k5", .remaining = 5});

    CHECK(out.status == cascade_status::ok);
    CHECK(out.result.is_null());
    REQUIRE(out.events.size() == 5);
    auto parent = out.id;
    for (std::size_t i = 0; i < out.events.size(); ++i) {
        const auto& env = out.events[i];
        CHECK(env.depth == i + 1);
        CHECK(env.causation_id == parent);
        CHECK(env.correlation_id == out.id);
        CHECK(env.aggregate() == "k" + std::to_string(4 - i));  // each on its own aggregate's lane
        parent = env.id;
    }
    CHECK(bus.metrics().handled == 6);
}

TEST_CASE("the observer sees each event as it is collected, then the outcome once", "[bus]") {
    cascade::bus bus{{.threads = 2}};
    register_hop(bus);

    std::mutex mutex;
    std::vector<cascade::message_id> seen;
    std::promise<cascade::outcome> done;
    std::atomic<int> done_calls{0};
    const auto admitted = bus.try_submit(cascade::any_message{hop{.key = "k3", .remaining = 3}},
                                         {.on_event =
                                              [&](const cascade::envelope& env) {
                                                  const std::scoped_lock lock{mutex};
                                                  seen.push_back(env.id);
                                              },
                                          .on_done =
                                              [&](cascade::outcome out) {
                                                  ++done_calls;
                                                  done.set_value(std::move(out));
                                              }});
    REQUIRE(admitted);
    const auto out = done.get_future().get();
    REQUIRE(bus.wait_idle(generous));
    CHECK(done_calls == 1);
    CHECK(out.id == admitted.id);
    const std::scoped_lock lock{mutex};
    REQUIRE(seen.size() == 3);
    for (std::size_t i = 0; i < seen.size(); ++i) {
        CHECK(seen[i] == out.events[i].id);
    }
}

TEST_CASE("a command has exactly one handler", "[bus][command]") {
    cascade::bus bus{{.threads = 1}};
    register_double_it(bus);
    CHECK_THROWS_AS(register_double_it(bus), std::logic_error);
}

TEST_CASE("handlers are registered before the first submission", "[bus]") {
    cascade::bus bus{{.threads = 1}};
    register_double_it(bus);
    (void)run(bus, double_it{.key = "a", .value = 1, .raise = 0});
    CHECK_THROWS_AS(register_hop(bus), std::logic_error);
}

TEST_CASE("a failing command fails its cascade and drops what it raised", "[bus][command]") {
    cascade::bus bus{{.threads = 2}};
    std::atomic<int> noted_runs{0};
    bus.handle<double_it>("refuse", [](const double_it& cmd, context& ctx) -> asio::awaitable<int> {
        ctx.raise(noted{.key = cmd.key, .seq = 1});
        throw std::runtime_error{"Invalid sku " + cmd.key};
        co_return 0;
    });
    bus.subscribe<noted>("count", [&](const noted&, context&) -> asio::awaitable<void> {
        ++noted_runs;
        co_return;
    });

    const auto out = run(bus, double_it{.key = "LAMP", .value = 1, .raise = 0});

    CHECK(out.status == cascade_status::failed);
    CHECK(out.result.is_null());
    CHECK(out.events.empty());
    REQUIRE(out.errors.size() == 1);
    CHECK(out.errors[0].handler == "refuse");
    CHECK(out.errors[0].code == "command_failed");
    CHECK(out.errors[0].message == "Invalid sku LAMP");
    REQUIRE(bus.wait_idle(generous));
    CHECK(noted_runs == 0);
    CHECK(bus.metrics().failed == 1);
}

TEST_CASE("a command nobody handles fails with no_handler", "[bus][command]") {
    cascade::bus bus{{.threads = 1}};
    bus.declare<orphan_command>();
    const auto out = run(bus, orphan_command{.key = "x"});
    CHECK(out.status == cascade_status::failed);
    REQUIRE(out.errors.size() == 1);
    CHECK(out.errors[0].code == "no_handler");
}

TEST_CASE("an event nobody handles is counted, not an error", "[bus][event]") {
    cascade::bus bus{{.threads = 1}};
    bus.declare<ignored>();
    const auto out = run(bus, ignored{.key = "x"});
    CHECK(out.status == cascade_status::ok);
    CHECK(out.errors.empty());
    CHECK(bus.metrics().unhandled == 1);
}

TEST_CASE("a failing event handler is isolated from its siblings and the cascade", "[bus][event]") {
    cascade::bus bus{{.threads = 2}};
    std::atomic<int> sibling_runs{0};
    std::atomic<int> downstream_runs{0};
    std::atomic<int> failing_runs{0};
    bus.subscribe<noted>(
        "always_fails",
        [&](const noted& n, context& ctx) -> asio::awaitable<void> {
            ++failing_runs;
            ctx.raise(hop{.key = n.key, .remaining = 0});  // dropped: this handler fails
            throw std::runtime_error{"boom"};
            co_return;
        },
        cascade::retry_policy::no_retry());
    bus.subscribe<noted>("sibling", [&](const noted& n, context& ctx) -> asio::awaitable<void> {
        ++sibling_runs;
        ctx.raise(ignored{.key = n.key});
        co_return;
    });
    bus.subscribe<ignored>("downstream", [&](const ignored&, context&) -> asio::awaitable<void> {
        ++downstream_runs;
        co_return;
    });
    bus.declare<hop>();

    const auto out = run(bus, noted{.key = "a", .seq = 1});

    CHECK(out.status == cascade_status::partial);
    REQUIRE(out.errors.size() == 1);
    CHECK(out.errors[0].handler == "always_fails");
    CHECK(out.errors[0].code == "handler_failed");
    CHECK(out.errors[0].message == "boom");
    REQUIRE(out.events.size() == 1);  // the sibling's event; the failed handler's hop is gone
    CHECK(out.events[0].name() == "Ignored");
    CHECK(failing_runs == 1);
    CHECK(sibling_runs == 1);
    CHECK(downstream_runs == 1);
    REQUIRE(bus.dead_letters().size() == 1);
    CHECK(bus.dead_letters()[0].handler == "always_fails");
}

TEST_CASE("each handler runs exactly once per delivered message", "[bus][event]") {
    cascade::bus bus{{.threads = 2}};
    std::mutex mutex;
    std::map<std::pair<std::string, int>, int> runs;  // (handler, seq) -> count
    for (const std::string name : {"first", "second", "third"}) {
        bus.subscribe<noted>(name, [&, name](const noted& n, context&) -> asio::awaitable<void> {
            const std::scoped_lock lock{mutex};
            ++runs[{name, n.seq}];
            co_return;
        });
    }
    constexpr int messages = 500;
    for (int i = 0; i < messages; ++i) {
        REQUIRE(bus.try_submit(cascade::any_message{noted{.key = "k" + std::to_string(i % 7), .seq = i}}));
    }
    REQUIRE(bus.wait_idle(generous));
    CHECK(runs.size() == 3 * messages);
    for (const auto& [what, count] : runs) {
        CHECK(count == 1);
    }
    CHECK(bus.metrics().handled == 3 * messages);
}

TEST_CASE("handlers reach dependencies provided at bootstrap", "[bus][services]") {
    struct multiplier {
        int factor;
    };
    cascade::bus bus{{.threads = 1}};
    bus.dependencies().emplace<multiplier>(multiplier{7});
    bus.handle<double_it>("scale", [](const double_it& cmd, context& ctx) -> asio::awaitable<int> {
        co_return cmd.value* ctx.get<multiplier>().factor;
    });
    CHECK(run(bus, double_it{.key = "a", .value = 6, .raise = 0}).result == 42);
}

TEST_CASE("events from a context's sources are collected after the handler completes", "[bus][context]") {
    cascade::bus bus{{.threads = 1}};
    bus.handle<double_it>("with_source", [](const double_it& cmd, context& ctx) -> asio::awaitable<int> {
        auto pending = std::make_shared<std::vector<cascade::any_message>>();
        ctx.add_event_source([pending] { return *pending; });
        co_await pause(std::chrono::milliseconds{1});
        pending->emplace_back(noted{.key = cmd.key, .seq = 99});  // after the source was added
        co_return 0;
    });
    bus.declare<noted>();
    const auto out = run(bus, double_it{.key = "a", .value = 0, .raise = 0});
    REQUIRE(out.events.size() == 1);
    CHECK(out.events[0].message.get_if<noted>()->seq == 99);
}

TEST_CASE("a submission from a coroutine awaits its outcome", "[bus]") {
    cascade::bus bus{{.threads = 2}};
    register_double_it(bus);
    auto total = asio::co_spawn(
                     bus.executor(),
                     [&]() -> asio::awaitable<int> {
                         int sum = 0;
                         for (int i = 0; i < 10; ++i) {
                             // Named first: g++ 12 destroys an aggregate temporary inside a
                             // co_await expression twice (see README, "Compiler notes").
                             double_it cmd{.key = "a", .value = i, .raise = 0};
                             const auto out = co_await bus.submit(std::move(cmd));
                             sum += out.result.get<int>();
                         }
                         co_return sum;
                     },
                     asio::use_future)
                     .get();
    CHECK(total == 90);
}

TEST_CASE("a failing event source fails its handler, and the lane goes on", "[bus][context]") {
    cascade::bus bus{{.threads = 2}};
    std::atomic<int> later_runs{0};
    bus.subscribe<noted>(
        "bad_source",
        [&](const noted& n, context& ctx) -> asio::awaitable<void> {
            if (n.seq == 1) {
                ctx.add_event_source(
                    []() -> std::vector<cascade::any_message> { throw std::runtime_error{"store down"}; });
            } else {
                ++later_runs;
            }
            co_return;
        },
        cascade::retry_policy::no_retry());
    const auto first = run(bus, noted{.key = "a", .seq = 1});
    const auto second = run(bus, noted{.key = "a", .seq = 2});
    CHECK(first.status == cascade_status::partial);
    REQUIRE(first.errors.size() == 1);
    CHECK(first.errors[0].message == "store down");
    CHECK(second.status == cascade_status::ok);
    CHECK(later_runs == 1);
}

TEST_CASE("an observer that throws does not stop the cascade", "[bus]") {
    cascade::bus bus{{.threads = 2}};
    register_hop(bus);
    std::promise<cascade::outcome> done;
    REQUIRE(bus.try_submit(cascade::any_message{hop{.key = "k3", .remaining = 3}},
                           {.on_event = [](const cascade::envelope&) { throw std::runtime_error{"observer bug"}; },
                            .on_done = [&](cascade::outcome out) { done.set_value(std::move(out)); }}));
    CHECK(done.get_future().get().events.size() == 3);
    REQUIRE(bus.wait_idle(generous));
    CHECK(bus.metrics().handled == 4);
}

TEST_CASE("on_event calls never overlap and come in collection order, under a fan-out on 4 threads", "[bus]") {
    cascade::bus bus{{.threads = 4}};
    // Each hop fans out to three more on other keys: collections race on four threads.
    bus.subscribe<hop>("fan_out", [](const hop& h, context& ctx) -> asio::awaitable<void> {
        for (int i = 0; i < 3 && h.remaining > 0; ++i) {
            ctx.raise(hop{.key = h.key + std::to_string(i), .remaining = h.remaining - 1});
        }
        co_return;
    });
    std::atomic<int> inside{0};
    std::atomic<int> overlaps{0};
    std::vector<cascade::message_id> seen;  // written only inside on_event, which must be serial
    std::promise<cascade::outcome> done;
    REQUIRE(bus.try_submit(cascade::any_message{hop{.key = "k", .remaining = 6}},
                           {.on_event =
                                [&](const cascade::envelope& env) {
                                    if (inside.fetch_add(1) != 0) {
                                        ++overlaps;
                                    }
                                    seen.push_back(env.id);
                                    std::this_thread::yield();  // widens the window an overlap would need
                                    inside.fetch_sub(1);
                                },
                            .on_done = [&](cascade::outcome out) { done.set_value(std::move(out)); }}));
    const auto out = done.get_future().get();
    CHECK(overlaps == 0);
    REQUIRE(out.events.size() == 3 + 9 + 27 + 81 + 243 + 729);
    REQUIRE(seen.size() == out.events.size());
    for (std::size_t i = 0; i < seen.size(); ++i) {
        CHECK(seen[i] == out.events[i].id);  // the observer saw them in the outcome's (collection) order
    }
}

TEST_CASE("an envelope's timestamp lies between its submission's bounds and appears on the wire", "[bus]") {
    cascade::bus bus{{.threads = 2}};
    register_double_it(bus);
    bus.declare<noted>();
    // The bus stamps with the coarse realtime clock, which never runs ahead of the precise one.
    timespec coarse{};
    clock_gettime(CLOCK_REALTIME_COARSE, &coarse);
    const auto before =
        std::chrono::system_clock::time_point{std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds{coarse.tv_sec} + std::chrono::nanoseconds{coarse.tv_nsec})};

    const auto out = run(bus, double_it{.key = "a", .value = 1, .raise = 2});

    const auto after = std::chrono::system_clock::now();
    REQUIRE(out.events.size() == 2);
    for (const auto& env : out.events) {
        CHECK(env.timestamp >= before);
        CHECK(env.timestamp <= after);
        const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(env.timestamp.time_since_epoch());
        CHECK(cascade::to_json(env)["timestamp_ms"] == millis.count());
    }
}
