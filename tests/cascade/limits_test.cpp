// Limits of one cascade: its depth and its number of events. Past either, what is raised is
// dropped and counted, and the cascade fails with a stable code.
#include "test_domain.hpp"

#include <catch2/catch.hpp>

using namespace test_domain;
using cascade::cascade_status;
using cascade::context;

namespace {

/// Ping raises Pong and Pong raises Ping, for ever: on one key or on two.
struct ping {
    static constexpr std::string_view name = "Ping";
    static constexpr cascade::message_kind kind = cascade::message_kind::event;
    std::string key;
    [[nodiscard]] std::string_view aggregate() const noexcept { return key; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ping, key)

struct pong {
    static constexpr std::string_view name = "Pong";
    static constexpr cascade::message_kind kind = cascade::message_kind::event;
    std::string key;
    [[nodiscard]] std::string_view aggregate() const noexcept { return key; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(pong, key)

void register_ping_pong(cascade::bus& bus, bool one_key) {
    bus.subscribe<ping>("answer_ping", [one_key](const ping& p, context& ctx) -> asio::awaitable<void> {
        ctx.raise(pong{.key = one_key ? p.key : p.key + "'"});
        co_return;
    });
    bus.subscribe<pong>("answer_pong", [one_key](const pong& p, context& ctx) -> asio::awaitable<void> {
        ctx.raise(ping{.key = one_key ? p.key : p.key.substr(0, p.key.size() - 1)});
        co_return;
    });
}

}  // namespace

TEST_CASE("an endless cascade stops at the depth limit and fails with depth_exceeded", "[limits]") {
    // Issue 10, bug 5: A raising B raising A never finished and grew without bound.
    const bool one_key = GENERATE(true, false);
    CAPTURE(one_key);
    cascade::bus bus{{.threads = 2}};  // max_depth defaults to 64
    register_ping_pong(bus, one_key);

    const auto out = run(bus, ping{.key = "k"});

    CHECK(out.status == cascade_status::failed);
    CHECK(out.events.size() == 64);
    CHECK(out.events.back().depth == 64);
    CHECK(out.dropped == 1);
    REQUIRE(out.errors.size() == 1);
    CHECK(out.errors[0].code == "depth_exceeded");
    CHECK(out.errors[0].handler == (out.events.back().name() == "Ping" ? "answer_ping" : "answer_pong"));
    CHECK(out.errors[0].handled_id == out.events.back().id);
    REQUIRE(bus.wait_idle(generous));
    CHECK(bus.metrics().dropped == 1);
}

TEST_CASE("the depth limit is an option", "[limits]") {
    cascade::bus bus{{.threads = 1, .max_depth = 3}};
    register_ping_pong(bus, true);
    const auto out = run(bus, ping{.key = "k"});
    CHECK(out.events.size() == 3);
    CHECK(out.status == cascade_status::failed);
}

TEST_CASE("a cascade that raises too many events stops and fails with cascade_too_large", "[limits]") {
    cascade::bus bus{{.threads = 2, .max_cascade_events = 100}};
    bus.subscribe<hop>("fan_out", [](const hop& h, context& ctx) -> asio::awaitable<void> {
        for (int i = 0; i < 3; ++i) {
            ctx.raise(hop{.key = h.key + std::to_string(i), .remaining = h.remaining + 1});
        }
        co_return;
    });

    const auto out = run(bus, hop{.key = "k", .remaining = 0});

    CHECK(out.status == cascade_status::failed);
    CHECK(out.events.size() == 100);
    CHECK(out.dropped > 0);
    REQUIRE(out.errors.size() == 1);  // one error per limit, however many raises were refused
    CHECK(out.errors[0].code == "cascade_too_large");
    REQUIRE(bus.wait_idle(generous));
    CHECK(bus.metrics().dropped == out.dropped);
}

TEST_CASE("limits bound cascades that nobody tracks", "[limits]") {
    cascade::bus bus{{.threads = 2, .max_cascade_events = 50}};
    register_ping_pong(bus, false);
    bus.subscribe<hop>("fan_out", [](const hop& h, context& ctx) -> asio::awaitable<void> {
        ctx.raise(hop{.key = h.key + "a", .remaining = 0});
        ctx.raise(hop{.key = h.key + "b", .remaining = 0});
        co_return;
    });
    REQUIRE(bus.try_submit(cascade::any_message{ping{.key = "untracked"}}));  // no observer
    REQUIRE(bus.try_submit(cascade::any_message{hop{.key = "h", .remaining = 0}}));
    REQUIRE(bus.wait_idle(generous));
    const auto m = bus.metrics();
    CHECK(m.dropped > 0);
    CHECK(m.handled <= 2 + 50 + 50);  // the two submitted messages and at most 50 events each
}
