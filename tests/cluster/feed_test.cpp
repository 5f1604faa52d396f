#include "cluster/delivery_feed.hpp"
#include "cluster/inbound_stream.hpp"
#include "eventually.hpp"
#include "nats_server.hpp"
#include "running_context.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>

#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

using namespace test_support;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

/// What the handlers saw, in the order they saw it.
struct seen_log {
    std::mutex mutex;
    std::vector<std::string> payloads;
    bool off_the_executor = false;

    void add(const cluster::delivery& message, bool on_executor) {
        const std::scoped_lock lock{mutex};
        payloads.emplace_back(message.payload());
        off_the_executor = off_the_executor || !on_executor;
    }
    [[nodiscard]] std::size_t size() {
        const std::scoped_lock lock{mutex};
        return payloads.size();
    }
};

/// Nothing left for the partition's consumer: every message delivered and acknowledged.
[[nodiscard]] bool nothing_left(cluster::nats_client& client, std::uint32_t partition) {
    const auto spec = cluster::partition_spec(partition);
    jsConsumerInfo* info = nullptr;
    jsErrCode code{};
    if (js_GetConsumerInfo(&info, client.jetstream(), spec.stream.c_str(), spec.durable.c_str(), nullptr, &code) !=
        NATS_OK) {
        return false;
    }
    const bool empty = info->NumAckPending == 0 && info->NumPending == 0;
    jsConsumerInfo_Destroy(info);
    return empty;
}

}  // namespace

TEST_CASE("a feed hands its partition's messages to handlers on the executor, in order, and acknowledges them",
          "[cluster][feed]") {
    one_server nats;
    cluster::inbound_stream stream{nats.client, {}};
    for (int i = 0; i < 50; ++i) {
        (void)stream.publish(4, "m" + std::to_string(i), std::to_string(i));
    }
    (void)stream.publish(5, "other", "not this partition's");
    running_context context;
    seen_log seen;
    {
        cluster::delivery_feed feed{nats.client,
                                    cluster::partition_spec(4),
                                    {.window = 8},
                                    context.io.get_executor(),
                                    [&](const cluster::delivery& message) -> asio::awaitable<void> {
                                        seen.add(message, context.io.get_executor().running_in_this_thread());
                                        co_return;
                                    }};
        REQUIRE(eventually([&] { return feed.acknowledged() == 50; }));
    }
    std::vector<std::string> expected;
    for (int i = 0; i < 50; ++i) {
        expected.push_back(std::to_string(i));
    }
    CHECK(seen.payloads == expected);
    CHECK_FALSE(seen.off_the_executor);
    CHECK(eventually([&] { return nothing_left(nats.client, 4); }));  // the acks are sent, not awaited
}

TEST_CASE("a delivery whose handler throws is not acknowledged, and comes again", "[cluster][feed]") {
    one_server nats;
    cluster::inbound_stream stream{nats.client, {}};
    (void)stream.publish(0, "flaky", "x");
    running_context context;
    std::atomic<std::uint64_t> last_delivery_count{0};
    cluster::delivery_feed feed{nats.client,
                                cluster::partition_spec(0),
                                {.consumer = {.ack_wait = 300ms}},
                                context.io.get_executor(),
                                [&](const cluster::delivery& message) -> asio::awaitable<void> {
                                    last_delivery_count = message.delivery_count();
                                    if (message.delivery_count() == 1) {
                                        throw std::runtime_error{"the first attempt fails"};
                                    }
                                    co_return;
                                }};
    REQUIRE(eventually([&] { return feed.acknowledged() == 1; }));
    CHECK(last_delivery_count == 2);
}

TEST_CASE("stopping a feed waits for the handlers it started", "[cluster][feed]") {
    one_server nats;
    cluster::inbound_stream stream{nats.client, {}};
    for (int i = 0; i < 3; ++i) {
        (void)stream.publish(1, "slow" + std::to_string(i), "x");
    }
    running_context context;
    std::atomic<int> started{0};
    std::atomic<int> finished{0};
    cluster::delivery_feed feed{nats.client,
                                cluster::partition_spec(1),
                                {},
                                context.io.get_executor(),
                                [&](const cluster::delivery&) -> asio::awaitable<void> {
                                    ++started;
                                    asio::steady_timer pause{co_await asio::this_coro::executor, 200ms};
                                    co_await pause.async_wait(asio::use_awaitable);
                                    ++finished;
                                }};
    REQUIRE(eventually([&] { return started.load() >= 1; }));
    feed.stop();
    CHECK(finished.load() == started.load());
    const auto acknowledged = feed.acknowledged();
    CHECK(acknowledged == static_cast<std::uint64_t>(finished.load()));
}
