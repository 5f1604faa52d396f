#pragma once
// A durable pull consumer of one subject of a stream: whoever consumes it (the holder of a
// partition's lease, the origin of reports) fetches its messages in stream order and acknowledges
// each after handling it. The consumer lives in nats-server, so a new consumer under the same
// durable name resumes where the last one acknowledged.

#include "cluster/delivery.hpp"
#include "cluster/nats_client.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace cluster {

/// Which messages a durable consumer takes: `subject` of `stream`, under the name `durable`.
struct consumer_spec {
    std::string stream;
    std::string subject;
    std::string durable;
};

struct consumer_settings {
    std::chrono::milliseconds ack_wait{30000};  ///< redelivered when not acknowledged within it
    int max_ack_pending = 1024;                 ///< delivered and not yet acknowledged, at most
};

class durable_consumer {
public:
    /// Creates the durable consumer or binds to it. Throws nats_error.
    durable_consumer(nats_client& client, consumer_spec spec, const consumer_settings& settings);

    /// Up to `max` messages, waiting at most `wait` for the first; empty when none came. Throws
    /// nats_error (retryable() when the server is away).
    [[nodiscard]] std::vector<delivery> fetch(int max, std::chrono::milliseconds wait);

    [[nodiscard]] const consumer_spec& spec() const noexcept { return spec_; }

private:
    consumer_spec spec_;
    subscription_handle subscription_;
};

}  // namespace cluster
