// The live feed's fan-out through its subscription index: each event reaches exactly the
// subscriptions whose filters want it, once, whatever else is subscribed; removing, and a
// subscription that turns live after catching up, keep the index true.
#include "gateway/live_feed.hpp"

#include "gateway/subscription_index.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using gateway::catch_up_state;
using gateway::feed_filter;
using gateway::join_result;
using gateway::live_feed;
using gateway::log_start;
using gateway::outbox;
using nlohmann::json;
using server_test::seq_range;

namespace {

// Three event names, each with its aggregate in `key`.
struct alpha {
    static constexpr std::string_view name = "Alpha";
    static constexpr cascade::message_kind kind = cascade::message_kind::event;
    std::string key;
    [[nodiscard]] std::string_view aggregate() const noexcept { return key; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(alpha, key)
struct beta {
    static constexpr std::string_view name = "Beta";
    static constexpr cascade::message_kind kind = cascade::message_kind::event;
    std::string key;
    [[nodiscard]] std::string_view aggregate() const noexcept { return key; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(beta, key)
struct gamma {
    static constexpr std::string_view name = "Gamma";
    static constexpr cascade::message_kind kind = cascade::message_kind::event;
    std::string key;
    [[nodiscard]] std::string_view aggregate() const noexcept { return key; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(gamma, key)

const std::vector<std::string> event_names{"Alpha", "Beta", "Gamma"};

cascade::envelope event(std::string_view name, std::string key) {
    const auto message = [&]() -> cascade::any_message {
        if (name == "Alpha") {
            return cascade::any_message{alpha{std::move(key)}};
        }
        if (name == "Beta") {
            return cascade::any_message{beta{std::move(key)}};
        }
        return cascade::any_message{gamma{std::move(key)}};
    };
    return {
        .id = 1, .correlation_id = 1, .depth = 1, .timestamp = std::chrono::system_clock::now(), .message = message()};
}

std::shared_ptr<outbox> make_outbox(std::size_t max_frames = 1'000'000) {
    return std::make_shared<outbox>(gateway::queue_limits{.max_frames = max_frames, .max_bytes = 1U << 30U}, "bye");
}

/// The seqs of the event frames queued in `out` since the last call, by subscription id, in the
/// order they were queued.
std::map<std::string, std::vector<std::uint64_t>> take_events(outbox& out) {
    std::vector<std::string> taken;
    (void)out.take(taken);
    std::size_t bytes = 0;
    std::map<std::string, std::vector<std::uint64_t>> events;
    for (const auto& frame : taken) {
        bytes += frame.size();
        const auto parsed = json::parse(frame);
        if (parsed["type"] == "event") {
            events[parsed["sub"].get<std::string>()].push_back(parsed["seq"].get<std::uint64_t>());
        }
    }
    out.written(taken.size(), bytes);
    return events;
}

/// The filter's meaning as PROTOCOL.md states it, written apart from feed_filter::matches.
bool wants(const feed_filter& f, std::string_view name, std::string_view aggregate) {
    const auto lists = [](const std::vector<std::string>& list, std::string_view value) {
        return list.empty() || std::count(list.begin(), list.end(), value) > 0;
    };
    return lists(f.names, name) && lists(f.aggregates, aggregate);
}

/// `first`, then `n` aggregates nothing publishes: too many pairs with any name to file by pair.
std::vector<std::string> many_aggregates(std::string first, std::size_t n) {
    std::vector<std::string> aggregates{std::move(first)};
    for (std::size_t i = 0; i < n; ++i) {
        aggregates.push_back("unused-" + std::to_string(i));
    }
    return aggregates;
}

struct planned {
    std::shared_ptr<outbox> out;
    std::string id;
    feed_filter filter;
};

}  // namespace

TEST_CASE("each event reaches exactly the subscriptions whose filters want it, once", "[server][live_feed]") {
    live_feed feed;
    const auto first = make_outbox();
    const auto second = make_outbox();
    const std::vector<planned> subscriptions{
        {first, "alpha", {.names = {"Alpha"}}},
        {first, "alpha-beta", {.names = {"Alpha", "Beta"}}},
        {first, "alpha-twice", {.names = {"Alpha", "Alpha"}}},
        {first, "k1", {.aggregates = {"k1"}}},
        {first, "k1-k3", {.aggregates = {"k1", "k3"}}},
        {first, "beta-at-k2", {.names = {"Beta"}, .aggregates = {"k2"}}},
        {first, "alpha-beta-at-k1-k2", {.names = {"Alpha", "Beta"}, .aggregates = {"k1", "k2"}}},
        {first,
         "alpha-beta-at-k3-and-more",  // filed by name: the index cannot tell the aggregate
         {.names = {"Alpha", "Beta"},
          .aggregates = many_aggregates("k3", gateway::subscription_index<int>::max_pairs)}},
        {first, "any", {}},
        {second, "alpha", {.names = {"Gamma"}}},  // the same id on another connection
        {second, "any", {}},
        {second, "nothing", {.names = {"Delta"}}},
    };
    for (const auto& s : subscriptions) {
        REQUIRE(feed.add(s.out, s.id, s.filter).live);
    }
    CHECK(feed.size() == subscriptions.size());

    // Every name with every aggregate: seq 1 is Alpha at k1, 2 Alpha at k2, ... 9 Gamma at k3.
    std::map<std::pair<const outbox*, std::string>, std::vector<std::uint64_t>> expected;
    std::uint64_t seq = 0;
    for (const auto& name : event_names) {
        for (const std::string aggregate : {"k1", "k2", "k3"}) {
            feed.publish(event(name, aggregate));
            ++seq;
            for (const auto& s : subscriptions) {
                if (wants(s.filter, name, aggregate)) {
                    expected[{s.out.get(), s.id}].push_back(seq);
                }
            }
        }
    }
    std::map<std::pair<const outbox*, std::string>, std::vector<std::uint64_t>> received;
    for (const auto& out : {first, second}) {
        for (auto& [id, seqs] : take_events(*out)) {
            received[{out.get(), id}] = std::move(seqs);
        }
    }
    CHECK(received == expected);
    // And spelled out, in case the reference above is wrong the same way as the feed.
    CHECK(received[{first.get(), "alpha"}] == std::vector<std::uint64_t>{1, 2, 3});
    CHECK(received[{first.get(), "alpha-twice"}] == std::vector<std::uint64_t>{1, 2, 3});
    CHECK(received[{first.get(), "alpha-beta"}] == std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6});
    CHECK(received[{first.get(), "k1-k3"}] == std::vector<std::uint64_t>{1, 3, 4, 6, 7, 9});
    CHECK(received[{first.get(), "beta-at-k2"}] == std::vector<std::uint64_t>{5});
    CHECK(received[{first.get(), "alpha-beta-at-k1-k2"}] == std::vector<std::uint64_t>{1, 2, 4, 5});
    CHECK(received[{first.get(), "alpha-beta-at-k3-and-more"}] == std::vector<std::uint64_t>{3, 6});
    CHECK(received[{first.get(), "any"}] == seq_range(1, 9));
    CHECK(received[{second.get(), "alpha"}] == std::vector<std::uint64_t>{7, 8, 9});
    CHECK(received.count({second.get(), "nothing"}) == 0);
}

TEST_CASE("a removed subscription gets nothing more, and the same id on another connection goes on",
          "[server][live_feed]") {
    live_feed feed;
    const auto first = make_outbox();
    const auto second = make_outbox();
    REQUIRE(feed.add(first, "s", {.names = {"Alpha"}}).live);
    REQUIRE(feed.add(first, "t", {.aggregates = {"k1"}}).live);
    REQUIRE(feed.add(first, "u", {}).live);
    REQUIRE(feed.add(second, "s", {.names = {"Alpha"}}).live);
    feed.publish(event("Alpha", "k1"));  // seq 1: all four
    CHECK(take_events(*first) == std::map<std::string, std::vector<std::uint64_t>>{{"s", {1}}, {"t", {1}}, {"u", {1}}});

    feed.remove(*first, "s");
    feed.remove(*first, "s");  // twice: nothing left to remove
    feed.remove(*second, "missing");
    CHECK(feed.size() == 3);
    feed.publish(event("Alpha", "k1"));  // seq 2
    CHECK(take_events(*first) == std::map<std::string, std::vector<std::uint64_t>>{{"t", {2}}, {"u", {2}}});
    CHECK(take_events(*second) == std::map<std::string, std::vector<std::uint64_t>>{{"s", {1, 2}}});

    feed.remove_all(*first);
    CHECK(feed.size() == 1);
    feed.publish(event("Alpha", "k1"));  // seq 3
    CHECK(take_events(*first).empty());
    CHECK(take_events(*second) == std::map<std::string, std::vector<std::uint64_t>>{{"s", {3}}});
    CHECK(feed.catch_up(*first, "t") == catch_up_state::gone);

    // The id is free again on that connection, with another filter.
    REQUIRE(feed.add(first, "s", {.names = {"Beta"}}).live);
    feed.publish(event("Alpha", "k1"));  // seq 4
    feed.publish(event("Beta", "k1"));   // seq 5
    CHECK(take_events(*first) == std::map<std::string, std::vector<std::uint64_t>>{{"s", {5}}});
    CHECK(take_events(*second) == std::map<std::string, std::vector<std::uint64_t>>{{"s", {4}}});
}

TEST_CASE("adding an id that a connection's subscription holds already is refused, and the first stays",
          "[server][live_feed]") {
    live_feed feed;
    const auto out = make_outbox();
    REQUIRE(feed.add(out, "s", {.names = {"Alpha"}}).live);
    CHECK_THROWS_AS(feed.add(out, "s", {.names = {"Beta"}}), std::invalid_argument);
    CHECK(feed.size() == 1);
    feed.publish(event("Alpha", "k"));
    feed.publish(event("Beta", "k"));
    CHECK(take_events(*out) == std::map<std::string, std::vector<std::uint64_t>>{{"s", {1}}});
}

TEST_CASE("a catching-up subscription is fed by publish once it is live, with no duplicate of the log",
          "[server][live_feed]") {
    live_feed feed;
    for (int i = 1; i <= 20; ++i) {
        feed.publish(event(i % 2 == 0 ? "Alpha" : "Beta", "k"));  // Alpha at the even seqs
    }
    const auto out = make_outbox(8);  // a step may fill half: the answer and 3 events, then 4
    const auto joined = feed.add(out, "s", {.names = {"Alpha"}}, {.from = log_start::point::earliest});
    REQUIRE(joined.answer == join_result::verdict::joined);
    REQUIRE_FALSE(joined.live);
    std::vector<std::uint64_t> seqs = take_events(*out)["s"];
    CHECK(seqs == std::vector<std::uint64_t>{2, 4, 6});

    // While it is behind, what is published waits in the log for it.
    feed.publish(event("Alpha", "k"));  // seq 21
    feed.publish(event("Alpha", "k"));  // seq 22
    CHECK(take_events(*out).empty());
    auto state = catch_up_state::behind;
    while (state == catch_up_state::behind) {
        state = feed.catch_up(*out, "s");
        const auto step = take_events(*out)["s"];
        seqs.insert(seqs.end(), step.begin(), step.end());
    }
    REQUIRE(state == catch_up_state::live);
    feed.publish(event("Alpha", "k"));  // seq 23: live, once
    feed.publish(event("Beta", "k"));   // seq 24: not wanted
    feed.publish(event("Alpha", "k"));  // seq 25
    const auto live = take_events(*out)["s"];
    seqs.insert(seqs.end(), live.begin(), live.end());
    CHECK(seqs == std::vector<std::uint64_t>{2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 21, 22, 23, 25});

    // And once removed, it is out of the index too.
    feed.remove(*out, "s");
    feed.publish(event("Alpha", "k"));
    CHECK(take_events(*out).empty());
    CHECK(feed.size() == 0);
}

TEST_CASE("100,000 subscriptions that want none of the events leave the one that does its events",
          "[server][live_feed]") {
    live_feed feed;
    const auto crowd = make_outbox();
    constexpr int others = 100'000;
    for (int i = 0; i < others; ++i) {
        const auto n = std::to_string(i);
        // Every kind of key, none of them the event's (or, filed by name, not its aggregate).
        const feed_filter filter = i % 1000 == 0
                                       ? feed_filter{.names = {"Alpha"}, .aggregates = many_aggregates("agg-" + n, 64)}
                                   : i % 3 == 0 ? feed_filter{.names = {"Other-" + n}}
                                   : i % 3 == 1 ? feed_filter{.aggregates = {"agg-" + n}}
                                                : feed_filter{.names = {"Alpha"}, .aggregates = {"agg-" + n}};
        REQUIRE(feed.add(crowd, "s" + n, filter).live);
    }
    const auto reader = make_outbox();
    REQUIRE(feed.add(reader, "wanted", {.names = {"Alpha"}, .aggregates = {"k"}}).live);
    CHECK(feed.size() == others + 1);
    for (int i = 0; i < 100; ++i) {
        feed.publish(event("Alpha", "k"));
    }
    CHECK(take_events(*reader) == std::map<std::string, std::vector<std::uint64_t>>{{"wanted", seq_range(1, 100)}});
    CHECK(take_events(*crowd).empty());

    feed.remove_all(*crowd);
    CHECK(feed.size() == 1);
    feed.publish(event("Alpha", "k"));
    CHECK(take_events(*reader)["wanted"] == seq_range(101, 101));
}

TEST_CASE("the subscription index offers each filed subscription once, and forgets keys nobody uses",
          "[server][live_feed]") {
    struct sub {
        feed_filter filter;
    };
    gateway::subscription_index<sub> index;
    sub by_names{{.names = {"A", "B", "A"}}};
    sub by_aggregate{{.aggregates = {"k1", "k2"}}};
    sub by_pair{{.names = {"B"}, .aggregates = {"k1"}}};
    sub by_name_alone{{.names = {"B"}, .aggregates = many_aggregates("k1", decltype(index)::max_pairs)}};
    sub any{};
    const std::vector<sub*> all{&by_names, &by_aggregate, &by_pair, &by_name_alone, &any};
    for (auto* s : all) {
        index.insert(s, s->filter.names, s->filter.aggregates);
    }
    CHECK(index.keys() == 5);  // names A and B, aggregates k1 and k2, the pair (B, k1)
    const auto candidates = [&](std::string_view name, std::string_view aggregate) {
        std::vector<const sub*> seen;
        index.for_each_candidate(name, aggregate, [&](const sub& s) { seen.push_back(&s); });
        std::sort(seen.begin(), seen.end());
        return seen;
    };
    const auto sorted = [](std::vector<const sub*> subs) {
        std::sort(subs.begin(), subs.end());
        return subs;
    };
    CHECK(candidates("A", "k1") == sorted({&by_names, &by_aggregate, &any}));
    CHECK(candidates("B", "k1") == sorted({&by_names, &by_aggregate, &by_pair, &by_name_alone, &any}));
    // Filed by name alone, it is a candidate the filter will refuse; the pair is not.
    CHECK(candidates("B", "k9") == sorted({&by_names, &by_name_alone, &any}));
    CHECK(candidates("C", "k2") == sorted({&by_aggregate, &any}));

    index.erase(&by_names, by_names.filter.names, by_names.filter.aggregates);
    CHECK(index.keys() == 4);  // A is gone; B stays for by_name_alone
    CHECK(candidates("A", "k9") == sorted({&any}));
    for (auto* s : all) {
        if (s != &by_names) {
            index.erase(s, s->filter.names, s->filter.aggregates);
        }
    }
    CHECK(index.keys() == 0);
    CHECK(candidates("B", "k1").empty());
}
