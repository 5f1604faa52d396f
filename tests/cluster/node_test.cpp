// Instances of one cluster in one process, each with its own connection, on one nats-server: the
// message flow across them with a test domain whose messages say what they raise.
#include "cluster/node.hpp"

#include "client_view.hpp"
#include "eventually.hpp"
#include "nats_server.hpp"
#include "running_context.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

using namespace test_support;
using cluster_test::client_view;
using namespace std::chrono_literals;
using nlohmann::json;
namespace asio = boost::asio;

namespace {

constexpr std::uint32_t partitions = 12;

/// What every instance's handler saw: per aggregate, the numbers of its messages in the order
/// handled; and which instances handled anything.
class handling_log {
public:
    void add(const std::string& instance, const std::string& aggregate, int number) {
        const std::scoped_lock lock{mutex_};
        per_aggregate_[aggregate].push_back(number);
        instances_.insert(instance);
    }
    [[nodiscard]] std::map<std::string, std::vector<int>> per_aggregate() const {
        const std::scoped_lock lock{mutex_};
        return per_aggregate_;
    }
    [[nodiscard]] std::set<std::string> instances() const {
        const std::scoped_lock lock{mutex_};
        return instances_;
    }

private:
    mutable std::mutex mutex_;
    std::map<std::string, std::vector<int>> per_aggregate_;
    std::set<std::string> instances_;
};

/// Messages whose first handling throws (the test domain's "fail_first"), by id.
class first_failures {
public:
    /// True the first time `id` is asked about.
    [[nodiscard]] bool first_time(const std::string& id) {
        const std::scoped_lock lock{mutex_};
        return failed_.insert(id).second;
    }

private:
    std::mutex mutex_;
    std::set<std::string> failed_;
};

/// The test domain: a message's body is {"key": k, "n": number, "raise": [bodies...]}, with
/// "pause_us" to suspend that long first and "fail_first" to throw on its first handling;
/// handling it records (k, number) and raises each body of "raise" on its own key.
[[nodiscard]] cluster::message_handler test_domain(const std::string& instance, handling_log& log,
                                                   first_failures& failures) {
    return [instance, &log, &failures](
               const cluster::cluster_message& message) -> asio::awaitable<std::vector<cluster::raised_message>> {
        const auto body = json::parse(message.body);
        if (const auto pause = body.value("pause_us", 0); pause > 0) {
            asio::steady_timer timer{co_await asio::this_coro::executor, std::chrono::microseconds{pause}};
            co_await timer.async_wait(asio::use_awaitable);
        }
        if (body.value("fail_first", false) && failures.first_time(message.id)) {
            throw std::runtime_error{"the first handling of " + message.id + " fails"};
        }
        log.add(instance, message.aggregate, body.at("n").get<int>());
        std::vector<cluster::raised_message> raised;
        for (const auto& event : body.value("raise", json::array())) {
            raised.push_back({.aggregate = event.at("key").get<std::string>(), .body = event.dump()});
        }
        co_return raised;
    };
}

/// Many clients; declared before the cluster, whose origins call them until it is gone.
using client_views = std::vector<std::unique_ptr<client_view>>;

[[nodiscard]] bool all_done(const client_views& clients) {
    return std::ranges::all_of(clients, [](const auto& client) { return client->dones() == 1; });
}

/// Three instances, "a", "b" and "c", on one nats-server, sharing twelve partitions.
struct three_instances {
    one_server nats;
    running_context context;
    handling_log log;
    first_failures failures;
    std::map<std::string, std::unique_ptr<cluster::nats_client>> clients;
    std::map<std::string, std::unique_ptr<cluster::node>> nodes;

    three_instances() {
        for (const char* name : {"a", "b", "c"}) {
            clients[name] = std::make_unique<cluster::nats_client>(options_for(nats.server));
            nodes[name] = std::make_unique<cluster::node>(
                *clients[name], cluster::node_settings{.instance = name, .partitions = partitions, .lease_ttl = 2s},
                context.io.get_executor(), test_domain(name, log, failures));
        }
        REQUIRE(eventually([&] {
            return std::ranges::all_of(nodes, [](const auto& entry) { return entry.second->held().size() == 4; });
        }));
    }
    three_instances(const three_instances&) = delete;
    three_instances& operator=(const three_instances&) = delete;

    ~three_instances() {
        nodes.clear();  // before the context and the clients they use
    }

    cluster::node& operator[](const std::string& name) { return *nodes.at(name); }
};

[[nodiscard]] json message_on(const std::string& key, int number, json raise = json::array()) {
    return {{"key", key}, {"n", number}, {"raise", std::move(raise)}};
}

/// 0, 1, ... count - 1.
[[nodiscard]] std::vector<int> first_numbers(int count) {
    std::vector<int> numbers(static_cast<std::size_t>(count));
    std::iota(numbers.begin(), numbers.end(), 0);
    return numbers;
}

/// The numbers handled per aggregate, with a redelivery's repeat of the one before removed.
[[nodiscard]] std::vector<int> without_repeats(std::vector<int> numbers) {
    numbers.erase(std::unique(numbers.begin(), numbers.end()), numbers.end());
    return numbers;
}

}  // namespace

TEST_CASE("a cascade crossing partitions of several instances streams every event to its origin, then one done",
          "[cluster][node]") {
    client_view client;
    three_instances cluster;
    // The root raises six events on six keys, each of which raises one more: twelve events.
    auto raise = json::array();
    std::multiset<std::string> raised;
    for (int i = 0; i < 6; ++i) {
        const auto child = "child-" + std::to_string(i);
        const auto leaf = "leaf-" + std::to_string(i);
        raise.push_back(message_on(child, i, json::array({message_on(leaf, i)})));
        raised.insert(child);
        raised.insert(leaf);
    }
    const auto body = message_on("root", 0, raise).dump();
    CHECK_FALSE(cluster["a"].submit("cascade-1", "root", body, client.watcher()).duplicate);
    REQUIRE(eventually([&] { return client.dones() == 1; }));
    std::multiset<std::string> streamed;
    {
        const std::scoped_lock lock{client.mutex};
        CHECK(client.events_at_done == 12);
        for (const auto& event : client.events) {
            streamed.insert(json::parse(event).at("key").get<std::string>());
        }
    }
    CHECK(streamed == raised);
    CHECK(cluster.log.instances().size() >= 2);  // 13 keys over 12 partitions held 4 by 4
    CHECK(cluster.log.per_aggregate().size() == 13);
}

TEST_CASE("an aggregate's messages are handled in the order they were submitted, across instances", "[cluster][node]") {
    client_views clients;
    three_instances cluster;
    constexpr int keys = 20;
    constexpr int per_key = 15;
    std::mt19937 random{11};
    const std::vector<std::string> origins{"a", "b", "c"};
    for (int round = 0; round < per_key; ++round) {
        for (int k = 0; k < keys; ++k) {
            const auto key = "key-" + std::to_string(k);
            // Handlers that suspend a while, and some whose first handling fails: neither may let
            // a later message of the key overtake.
            auto body = message_on(key, round);
            body["pause_us"] = std::uniform_int_distribution<int>{0, 2000}(random);
            body["fail_first"] = std::uniform_int_distribution<int>{0, 9}(random) == 0;
            auto& client = clients.emplace_back(std::make_unique<client_view>());
            const auto& origin = origins[static_cast<std::size_t>(k) % origins.size()];
            (void)cluster[origin].submit(key + "#" + std::to_string(round), key, body.dump(), client->watcher());
        }
    }
    REQUIRE(eventually([&] { return all_done(clients); }));
    for (const auto& [key, numbers] : cluster.log.per_aggregate()) {
        INFO(key);
        CHECK(numbers == first_numbers(per_key));
    }
    CHECK(cluster.log.per_aggregate().size() == keys);
}

TEST_CASE("an instance that crashes under load: its partitions are taken over and every submit reaches done",
          "[cluster][node]") {
    client_views clients;
    three_instances cluster;
    constexpr int keys = 30;
    constexpr int submits = 120;
    for (int i = 0; i < submits; ++i) {
        if (i == submits / 2) {
            cluster["c"].abandon();  // nothing released: the others wait for the leases to expire
        }
        const auto key = "key-" + std::to_string(i % keys);
        auto& client = clients.emplace_back(std::make_unique<client_view>());
        (void)cluster[i % 2 == 0 ? "a" : "b"].submit("submit-" + std::to_string(i), key,
                                                     message_on(key, i / keys).dump(), client->watcher());
    }
    REQUIRE(eventually([&] { return all_done(clients); }));
    CHECK(cluster["c"].held().empty());
    REQUIRE(eventually([&] { return cluster["a"].held().size() + cluster["b"].held().size() == partitions; }));
    for (const auto& [key, numbers] : cluster.log.per_aggregate()) {
        INFO(key);
        CHECK(without_repeats(numbers) == first_numbers(submits / keys));  // at least once, in order
    }
}

TEST_CASE("a submit id stored before is a duplicate and runs nothing again", "[cluster][node]") {
    client_view first;
    client_view again;
    client_view in_flight;
    client_view in_flight_again;
    client_view barrier;
    three_instances cluster;
    REQUIRE_FALSE(cluster["a"].submit("once", "k", message_on("k", 0).dump(), first.watcher()).duplicate);
    REQUIRE(eventually([&] { return first.dones() == 1; }));
    CHECK(cluster["b"].submit("once", "k", message_on("k", 0).dump(), again.watcher()).duplicate);

    // Again while it runs, at the same origin: the first watch stays and hears the end.
    auto slow = message_on("k", 1);
    slow["pause_us"] = 200'000;
    REQUIRE_FALSE(cluster["a"].submit("slow", "k", slow.dump(), in_flight.watcher()).duplicate);
    CHECK(cluster["a"].submit("slow", "k", slow.dump(), in_flight_again.watcher()).duplicate);

    (void)cluster["b"].submit("after", "k", message_on("k", 2).dump(), barrier.watcher());
    REQUIRE(eventually([&] { return barrier.dones() == 1; }));
    REQUIRE(eventually([&] { return in_flight.dones() == 1; }));
    CHECK(cluster.log.per_aggregate().at("k") == std::vector<int>{0, 1, 2});
    CHECK(again.dones() == 0);
    CHECK(in_flight_again.dones() == 0);
}

TEST_CASE("a submit id with a '.' is refused: raised events' ids are made with it", "[cluster][node]") {
    client_view client;
    three_instances cluster;
    CHECK_THROWS_AS(cluster["a"].submit("order.1", "k", message_on("k", 0).dump(), client.watcher()),
                    std::invalid_argument);
}
