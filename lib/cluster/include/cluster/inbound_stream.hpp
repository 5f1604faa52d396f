#pragma once
// The cluster's journal of accepted messages: one JetStream stream ("CASCADE_IN"), one subject per
// partition. A publish is acknowledged by nats-server once stored; the message id goes out as
// Nats-Msg-Id, so the same id published again inside the duplicate window is stored once.

#include "cluster/durable_consumer.hpp"
#include "cluster/nats_client.hpp"
#include "cluster/streams.hpp"

#include <chrono>
#include <cstdint>
#include <string_view>

namespace cluster {

class inbound_stream {
public:
    static constexpr const char* name = "CASCADE_IN";

    /// Creates the stream, or binds to it when another instance already did. Throws nats_error.
    inbound_stream(nats_client& client, const stream_settings& settings);

    /// Publishes `payload` under `partition`'s subject with `msg_id` as Nats-Msg-Id and waits for
    /// nats-server's ack. Throws nats_error (retryable() when the server is away).
    publish_receipt publish(std::uint32_t partition, std::string_view msg_id, std::string_view payload);

    /// How many messages the stream holds. Throws nats_error.
    [[nodiscard]] std::uint64_t message_count() const { return cluster::message_count(*client_, name); }

private:
    nats_client* client_;
};

/// The durable consumer of a partition's messages: "partition-<p>" on its subject. Whoever holds
/// the partition's lease consumes it.
[[nodiscard]] consumer_spec partition_spec(std::uint32_t partition);

}  // namespace cluster
