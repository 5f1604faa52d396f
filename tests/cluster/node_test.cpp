// Instances of one cluster in one process, each with its own connection, on one nats-server: the
// message flow across them with a test domain whose messages say what they raise.
#include "cluster/node.hpp"

#include "eventually.hpp"
#include "nats_server.hpp"
#include "running_context.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <set>
#include <string>
#include <vector>

using namespace test_support;
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

/// The test domain: a message's body is {"key": k, "n": number, "raise": [bodies...]}; handling
/// it records (k, number) and raises each body of "raise" on its own key.
[[nodiscard]] cluster::message_handler test_domain(const std::string& instance, handling_log& log) {
    return [instance,
            &log](const cluster::cluster_message& message) -> asio::awaitable<std::vector<cluster::raised_message>> {
        const auto body = json::parse(message.body);
        log.add(instance, message.aggregate, body.at("n").get<int>());
        std::vector<cluster::raised_message> raised;
        for (const auto& event : body.value("raise", json::array())) {
            raised.push_back({.aggregate = event.at("key").get<std::string>(), .body = event.dump()});
        }
        co_return raised;
    };
}

/// What one client of an origin saw.
struct client_view {
    std::mutex mutex;
    std::vector<std::string> events;
    int done = 0;
    std::size_t events_at_done = 0;

    [[nodiscard]] cluster::cascade_watch watcher() {
        return {.on_event =
                    [this](std::string_view event) {
                        const std::scoped_lock lock{mutex};
                        events.emplace_back(event);
                    },
                .on_done =
                    [this] {
                        const std::scoped_lock lock{mutex};
                        ++done;
                        events_at_done = events.size();
                    }};
    }
    [[nodiscard]] int dones() {
        const std::scoped_lock lock{mutex};
        return done;
    }
};

/// Three instances, "a", "b" and "c", on one nats-server, sharing twelve partitions.
struct three_instances {
    one_server nats;
    running_context context;
    handling_log log;
    std::map<std::string, std::unique_ptr<cluster::nats_client>> clients;
    std::map<std::string, std::unique_ptr<cluster::node>> nodes;

    three_instances() {
        for (const char* name : {"a", "b", "c"}) {
            clients[name] = std::make_unique<cluster::nats_client>(options_for(nats.server));
            nodes[name] = std::make_unique<cluster::node>(
                *clients[name], cluster::node_settings{.instance = name, .partitions = partitions, .lease_ttl = 2s},
                context.io.get_executor(), test_domain(name, log));
        }
        REQUIRE(eventually([&] {
            return std::ranges::all_of(nodes, [](const auto& entry) { return entry.second->held().size() == 4; });
        }));
    }

    ~three_instances() {
        nodes.clear();  // before the context and the clients they use
    }

    cluster::node& operator[](const std::string& name) { return *nodes.at(name); }
};

[[nodiscard]] json message_on(const std::string& key, int number, json raise = json::array()) {
    return {{"key", key}, {"n", number}, {"raise", std::move(raise)}};
}

/// The numbers handled per aggregate, with a redelivery's repeat of the one before removed.
[[nodiscard]] std::vector<int> without_repeats(std::vector<int> numbers) {
    numbers.erase(std::unique(numbers.begin(), numbers.end()), numbers.end());
    return numbers;
}

}  // namespace

TEST_CASE("a cascade crossing partitions of several instances streams every event to its origin, then one done",
          "[cluster][node]") {
    three_instances cluster;
    // The root raises six events on six keys, each of which raises one more: twelve events.
    auto raise = json::array();
    for (int i = 0; i < 6; ++i) {
        raise.push_back(
            message_on("child-" + std::to_string(i), i, json::array({message_on("leaf-" + std::to_string(i), i)})));
    }
    client_view client;
    const auto receipt =
        cluster["a"].submit("cascade-1", "root", message_on("root", 0, raise).dump(), client.watcher());
    CHECK_FALSE(receipt.duplicate);
    REQUIRE(eventually([&] { return client.dones() == 1; }));
    {
        const std::scoped_lock lock{client.mutex};
        CHECK(client.events.size() == 12);
        CHECK(client.events_at_done == 12);
    }
    CHECK(cluster.log.instances().size() >= 2);  // 13 keys over 12 partitions held 4 by 4
    const auto handled = cluster.log.per_aggregate();
    CHECK(handled.size() == 13);
}

TEST_CASE("an aggregate's messages are handled in the order they were submitted, across instances", "[cluster][node]") {
    three_instances cluster;
    constexpr int keys = 20;
    constexpr int per_key = 15;
    std::vector<std::unique_ptr<client_view>> clients;
    const std::vector<std::string> origins{"a", "b", "c"};
    for (int round = 0; round < per_key; ++round) {
        for (int k = 0; k < keys; ++k) {
            const auto key = "key-" + std::to_string(k);
            auto& client = clients.emplace_back(std::make_unique<client_view>());
            const auto id = key + "#" + std::to_string(round);
            (void)cluster[origins[static_cast<std::size_t>(k) % 3]].submit(id, key, message_on(key, round).dump(),
                                                                           client->watcher());
        }
    }
    REQUIRE(eventually(
        [&] { return std::ranges::all_of(clients, [](const auto& client) { return client->dones() == 1; }); }));
    std::vector<int> in_order(per_key);
    std::iota(in_order.begin(), in_order.end(), 0);
    for (const auto& [key, numbers] : cluster.log.per_aggregate()) {
        INFO(key);
        CHECK(numbers == in_order);
    }
    CHECK(cluster.log.per_aggregate().size() == keys);
}

TEST_CASE("an instance that crashes under load: its partitions are taken over and every submit reaches done",
          "[cluster][node]") {
    three_instances cluster;
    constexpr int keys = 30;
    constexpr int submits = 120;
    std::vector<std::unique_ptr<client_view>> clients;
    for (int i = 0; i < submits; ++i) {
        if (i == submits / 2) {
            cluster["c"].abandon();  // as kill -9 leaves it: nothing released
        }
        const auto key = "key-" + std::to_string(i % keys);
        auto& client = clients.emplace_back(std::make_unique<client_view>());
        (void)cluster[i % 2 == 0 ? "a" : "b"].submit("submit-" + std::to_string(i), key,
                                                     message_on(key, i / keys).dump(), client->watcher());
    }
    REQUIRE(eventually(
        [&] { return std::ranges::all_of(clients, [](const auto& client) { return client->dones() == 1; }); }));
    REQUIRE(eventually([&] { return cluster["a"].held().size() + cluster["b"].held().size() == partitions; }));
    std::vector<int> in_order(submits / keys);
    std::iota(in_order.begin(), in_order.end(), 0);
    for (const auto& [key, numbers] : cluster.log.per_aggregate()) {
        INFO(key);
        CHECK(without_repeats(numbers) == in_order);  // at least once, in order
    }
}

TEST_CASE("a submit id stored before is a duplicate and runs nothing again", "[cluster][node]") {
    three_instances cluster;
    client_view first;
    REQUIRE_FALSE(cluster["a"].submit("once", "k", message_on("k", 0).dump(), first.watcher()).duplicate);
    REQUIRE(eventually([&] { return first.dones() == 1; }));
    client_view again;
    CHECK(cluster["b"].submit("once", "k", message_on("k", 0).dump(), again.watcher()).duplicate);
    client_view barrier;  // handled after the duplicate would have been
    (void)cluster["b"].submit("after", "k", message_on("k", 1).dump(), barrier.watcher());
    REQUIRE(eventually([&] { return barrier.dones() == 1; }));
    CHECK(cluster.log.per_aggregate().at("k") == std::vector<int>{0, 1});
    CHECK(again.dones() == 0);
}
