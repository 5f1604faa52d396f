#pragma once
// The durable pull consumer of one partition ("partition-<p>" on the inbound stream): whichever
// instance holds the partition's lease fetches its messages, in stream order, and acknowledges
// each after handling it. The consumer lives in nats-server, so a new owner resumes where the
// last one acknowledged.

#include "cluster/delivery.hpp"
#include "cluster/nats_client.hpp"

#include <chrono>
#include <cstdint>
#include <vector>

namespace cluster {

struct consumer_settings {
    std::chrono::milliseconds ack_wait{30000};  ///< redelivered when not acknowledged within it
    int max_ack_pending = 1024;                 ///< delivered and not yet acknowledged, at most
};

class partition_consumer {
public:
    /// Creates the partition's durable consumer or binds to it.
    partition_consumer(nats_client& client, std::uint32_t partition, const consumer_settings& settings);

    /// Up to `max` messages, waiting at most `wait` for the first; empty when none came. Throws
    /// nats_error (retryable() when the server is away).
    [[nodiscard]] std::vector<delivery> fetch(int max, std::chrono::milliseconds wait);

    [[nodiscard]] std::uint32_t partition() const noexcept { return partition_; }

private:
    std::uint32_t partition_;
    subscription_handle subscription_;
};

}  // namespace cluster
