#include "client_view.hpp"
#include "cluster/origin_desk.hpp"
#include "cluster/report_stream.hpp"
#include "cluster/streams.hpp"
#include "eventually.hpp"
#include "nats_server.hpp"
#include "running_context.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace test_support;
using cluster::handled_report;
using cluster_test::client_view;
namespace asio = boost::asio;

namespace {

/// The reports of a cascade "c" whose root raises two events, the first of which raises one.
[[nodiscard]] std::vector<handled_report> reports_of_a_small_tree() {
    return {{.cascade = "c", .message = "c", .events = {R"({"n":1})", R"({"n":2})"}},
            {.cascade = "c", .message = "c.1", .events = {R"({"n":3})"}},
            {.cascade = "c", .message = "c.2", .events = {}},
            {.cascade = "c", .message = "c.1.1", .events = {}}};
}

}  // namespace

TEST_CASE("a report travels as JSON and back", "[cluster][origin]") {
    const handled_report report{.cascade = "c", .message = "c.1", .events = {R"({"name":"Allocated"})"}};
    CHECK(cluster::decode_report(cluster::encode_report(report)) == report);
    CHECK_THROWS_AS(cluster::decode_report("not json"), std::invalid_argument);
    CHECK_THROWS_AS(cluster::decode_report(R"({"cascade":"c"})"), std::invalid_argument);
}

TEST_CASE("the origin streams a cascade's events from every instance, then one done", "[cluster][origin]") {
    one_server nats;
    running_context context;
    cluster::origin_desk origin{nats.client, "a", context.io.get_executor()};
    client_view client;
    origin.watch("c", client.watcher());

    // Reported by another instance, out of order and one of them twice.
    cluster::nats_client elsewhere{options_for(nats.server)};
    cluster::report_stream reports{elsewhere};
    auto tree = reports_of_a_small_tree();
    std::ranges::shuffle(tree, std::mt19937{7});
    for (const auto& report : tree) {
        reports.publish("a", report);
    }
    // One comes again under another id (nats-server's de-duplication does not catch it): the
    // origin's own tally must.
    (void)cluster::publish_once(elsewhere, cluster::report_stream::name, "cascade.report.a", "again",
                                cluster::encode_report(tree.front()));
    REQUIRE(eventually([&] { return client.dones() == 1; }));
    std::vector<std::string> events;
    {
        const std::scoped_lock lock{client.mutex};
        events = client.events;
        CHECK(client.events_at_done == 3);  // done after every event
    }
    std::ranges::sort(events);
    CHECK(events == std::vector<std::string>{R"({"n":1})", R"({"n":2})", R"({"n":3})"});
    CHECK(origin.watching() == 0);
}

TEST_CASE("reports of a cascade nobody watches are dropped, and the desk serves on", "[cluster][origin]") {
    one_server nats;
    running_context context;
    cluster::origin_desk origin{nats.client, "a", context.io.get_executor()};
    cluster::report_stream reports{nats.client};
    reports.publish("a", {.cascade = "gone", .message = "gone", .events = {"{}"}});
    client_view client;
    origin.watch("c", client.watcher());
    client_view left;
    origin.watch("left", left.watcher());
    origin.forget("left");
    reports.publish("a", {.cascade = "left", .message = "left", .events = {}});
    for (const auto& report : reports_of_a_small_tree()) {
        reports.publish("a", report);
    }
    REQUIRE(eventually([&] { return client.dones() == 1; }));
    CHECK(origin.watching() == 0);
    CHECK(left.dones() == 0);
}

TEST_CASE("each origin reads only the reports addressed to it", "[cluster][origin]") {
    one_server nats;
    running_context context;
    cluster::origin_desk a{nats.client, "a", context.io.get_executor()};
    cluster::nats_client b_client{options_for(nats.server)};
    cluster::origin_desk b{b_client, "b", context.io.get_executor()};
    client_view at_a;
    client_view at_b;
    a.watch("c", at_a.watcher());
    b.watch("c", at_b.watcher());  // the same id at both: only the addressee hears of it
    cluster::report_stream reports{nats.client};
    reports.publish("b", {.cascade = "c", .message = "c", .events = {}});
    REQUIRE(eventually([&] { return at_b.dones() == 1; }));
    // A report to a, after b's: once a has read it, it has read everything before it too.
    client_view barrier;
    a.watch("barrier", barrier.watcher());
    reports.publish("a", {.cascade = "barrier", .message = "barrier", .events = {}});
    REQUIRE(eventually([&] { return barrier.dones() == 1; }));
    CHECK(at_a.dones() == 0);
    CHECK(a.watching() == 1);
}
