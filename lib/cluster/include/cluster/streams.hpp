#pragma once
// What the cluster's streams share: creation by whichever instance comes first, and publishing
// under a message id that nats-server de-duplicates.

#include "cluster/nats_client.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace cluster {

struct stream_settings {
    std::chrono::seconds duplicate_window{120};  ///< how long nats-server remembers message ids
    bool in_memory = false;                      ///< memory storage: for benchmarks, not for durability
};

struct stream_definition {
    std::string name;
    std::string subjects;  ///< one subject pattern: "cascade.in.*"
    stream_settings settings;
};

/// Creates the stream, or leaves it as it is when it exists (another instance made it).
/// Throws nats_error.
void ensure_stream(nats_client& client, const stream_definition& definition);

/// How many messages the stream holds. Throws nats_error.
[[nodiscard]] std::uint64_t message_count(nats_client& client, const std::string& stream);

struct publish_receipt {
    std::uint64_t seq = 0;   ///< the message's sequence in the stream (the first one's, for a duplicate)
    bool duplicate = false;  ///< the id was already stored: nothing new was written
};

/// Publishes `payload` on `subject` of `stream` with `msg_id` as Nats-Msg-Id, and waits for
/// nats-server's ack. Throws nats_error (retryable() when the server is away: the message may
/// have been stored all the same, and publishing it again under its id is safe).
publish_receipt publish_once(nats_client& client, const std::string& stream, const std::string& subject,
                             std::string_view msg_id, std::string_view payload);

}  // namespace cluster
