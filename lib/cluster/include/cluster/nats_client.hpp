#pragma once
// One connection to nats-server and its JetStream context. Connecting fails at once, with a clear
// error, when the server cannot be reached; once connected, libnats reconnects by itself after
// a loss (forever, every `reconnect_wait`), and calls made meanwhile fail with a retryable
// nats_error. libnats runs its own threads: nothing here calls back into the caller.

#include "cluster/nats_handle.hpp"

#include <chrono>
#include <string>

namespace cluster {

struct client_options {
    std::string url = "nats://127.0.0.1:4222";
    std::string name = "cascade";  ///< how nats-server lists this connection
    std::chrono::milliseconds connect_timeout{2000};
    std::chrono::milliseconds reconnect_wait{250};
    std::chrono::milliseconds request_timeout{5000};  ///< JetStream API calls and publish acks
};

class nats_client {
public:
    /// Connects; throws nats_error ("nats-server at <url> is unreachable: ...") when it cannot.
    explicit nats_client(const client_options& options);
    /// Closes the connection (buffered publishes are dropped, not flushed).
    ~nats_client();
    nats_client(const nats_client&) = delete;
    nats_client& operator=(const nats_client&) = delete;

    /// True while the connection is up (false while libnats reconnects).
    [[nodiscard]] bool connected() const noexcept;
    [[nodiscard]] natsConnection* connection() const noexcept { return connection_.get(); }
    [[nodiscard]] jsCtx* jetstream() const noexcept { return jetstream_.get(); }
    [[nodiscard]] const std::string& url() const noexcept { return url_; }

private:
    std::string url_;
    connection_handle connection_;
    jetstream_handle jetstream_;
};

}  // namespace cluster
