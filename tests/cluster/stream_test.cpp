#include "cluster/durable_consumer.hpp"
#include "cluster/inbound_stream.hpp"
#include "eventually.hpp"
#include "nats_server.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace test_support;
using namespace std::chrono_literals;

namespace {

[[nodiscard]] std::vector<std::string> payloads_of(const std::vector<cluster::delivery>& fetched) {
    std::vector<std::string> payloads;
    for (const auto& message : fetched) {
        payloads.emplace_back(message.payload());
    }
    return payloads;
}

void ack_all(std::vector<cluster::delivery>& fetched) {
    for (auto& message : fetched) {
        message.ack_and_wait();
    }
}

}  // namespace

TEST_CASE("a message id published twice is stored once", "[cluster][stream]") {
    one_server nats;
    cluster::inbound_stream stream{nats.client, {}};
    const auto first = stream.publish(3, "order-1", "payload");
    const auto again = stream.publish(3, "order-1", "payload");
    const auto other = stream.publish(3, "order-2", "payload");
    CHECK_FALSE(first.duplicate);
    CHECK(again.duplicate);
    CHECK(again.seq == first.seq);
    CHECK(other.seq == first.seq + 1);
    CHECK(stream.message_count() == 2);
}

TEST_CASE("a second instance binds to the stream the first created", "[cluster][stream]") {
    one_server nats;
    cluster::inbound_stream first{nats.client, {}};
    (void)first.publish(0, "a", "x");
    cluster::nats_client other_client{options_for(nats.server)};
    const cluster::inbound_stream second{other_client, {}};
    CHECK(second.message_count() == 1);
}

TEST_CASE("a partition's consumer gets its partition's messages, in order, with their ids", "[cluster][stream]") {
    one_server nats;
    cluster::inbound_stream stream{nats.client, {}};
    for (int i = 0; i < 5; ++i) {
        (void)stream.publish(1, "one-" + std::to_string(i), "p1 #" + std::to_string(i));
        (void)stream.publish(2, "two-" + std::to_string(i), "p2 #" + std::to_string(i));
    }
    cluster::durable_consumer consumer{nats.client, cluster::partition_spec(1), {}};
    auto fetched = consumer.fetch(100, 2s);
    CHECK(payloads_of(fetched) == std::vector<std::string>{"p1 #0", "p1 #1", "p1 #2", "p1 #3", "p1 #4"});
    REQUIRE(fetched.size() == 5);
    CHECK(fetched.front().msg_id() == "one-0");
    CHECK(fetched.front().delivery_count() == 1);
    CHECK(fetched.back().stream_seq() > fetched.front().stream_seq());
    ack_all(fetched);
    CHECK(consumer.fetch(100, 200ms).empty());
}

TEST_CASE("an unacknowledged message is delivered again, an acknowledged one is not", "[cluster][stream]") {
    one_server nats;
    cluster::inbound_stream stream{nats.client, {}};
    (void)stream.publish(0, "kept", "handled");
    (void)stream.publish(0, "dropped", "crashed meanwhile");
    cluster::durable_consumer consumer{nats.client, cluster::partition_spec(0), {.ack_wait = 500ms}};
    auto fetched = consumer.fetch(2, 2s);
    REQUIRE(fetched.size() == 2);
    fetched.front().ack_and_wait();
    fetched.pop_back();  // as if its handler's instance had died before acknowledging it

    const auto again = consumer.fetch(10, 5s);
    REQUIRE(again.size() == 1);
    CHECK(again.front().msg_id() == "dropped");
    CHECK(again.front().delivery_count() == 2);
}

TEST_CASE("a nak asks for the message again at once", "[cluster][stream]") {
    one_server nats;
    cluster::inbound_stream stream{nats.client, {}};
    (void)stream.publish(0, "retry-me", "x");
    cluster::durable_consumer consumer{nats.client, cluster::partition_spec(0), {.ack_wait = 60s}};
    auto fetched = consumer.fetch(1, 2s);
    REQUIRE(fetched.size() == 1);
    fetched.front().nak();
    const auto again = consumer.fetch(1, 5s);
    REQUIRE(again.size() == 1);
    CHECK(again.front().delivery_count() == 2);
}

TEST_CASE("a partition's next owner resumes after the last acknowledged message", "[cluster][stream]") {
    one_server nats;
    cluster::inbound_stream stream{nats.client, {}};
    for (int i = 0; i < 4; ++i) {
        (void)stream.publish(5, "m" + std::to_string(i), std::to_string(i));
    }
    {
        cluster::durable_consumer first_owner{nats.client, cluster::partition_spec(5), {}};
        auto fetched = first_owner.fetch(2, 2s);
        REQUIRE(fetched.size() == 2);
        ack_all(fetched);
    }
    cluster::nats_client next_instance{options_for(nats.server)};
    cluster::durable_consumer next_owner{next_instance, cluster::partition_spec(5), {}};
    const auto rest = next_owner.fetch(10, 2s);
    CHECK(payloads_of(rest) == std::vector<std::string>{"2", "3"});
}
