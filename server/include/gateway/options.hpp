#pragma once
// The knobs of the gateway, with the defaults protocol v1 announces.

#include "gateway/event_log.hpp"
#include "gateway/json_parse.hpp"
#include "gateway/token_verifier.hpp"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace gateway {

/// Per-connection limits of a WebSocket session.
struct session_limits {
    /// Largest incoming message; a bigger one closes the connection with 1009.
    std::size_t max_frame_bytes = 64 * 1024;
    /// Submits accepted and not yet done; the next one is refused with `overloaded`.
    std::size_t max_in_flight = 256;
    /// Subscriptions live at once; the next one is refused with `limit_exceeded`.
    std::size_t max_subscriptions = 1'000;
    /// Submits a second, on average, per connection (a token bucket); 0: no limit. A submit past
    /// it is refused with `rate_limited` and a `retry_after_ms`.
    double submit_rate = 0;
    /// Submits a connection may send in a burst above `submit_rate` (the bucket's size).
    double submit_burst = 100;
    /// Outgoing frames queued and not yet written; past either bound the client is a slow consumer.
    std::size_t max_queued_frames = 16'384;
    std::size_t max_queued_bytes = 8 * 1024 * 1024;
    /// Bytes a session buffers below the WebSocket layer so that small frames share one send().
    std::size_t write_coalesce_bytes = 256 * 1024;
    /// SO_SNDBUF of each WebSocket socket; 0 keeps the system's (auto-tuned) default. A small one
    /// bounds what the kernel holds for a client that stopped reading.
    std::size_t socket_send_buffer = 0;
    /// How long a slow consumer gets to take its disconnect frame and close before the socket is cut.
    std::chrono::milliseconds close_grace{5'000};
};

/// The PEM files of TLS: the certificate chain (the server's first) and its private key.
struct tls_files {
    std::string certificate_chain;
    std::string private_key;
};

/// Who may connect, and what they may do.
struct auth_options {
    /// Checks the token that every upgrade and request (but /health and /metrics) must carry;
    /// std::nullopt: no authentication, everyone may do everything.
    std::optional<token_verifier> tokens;
    /// Origins a browser's WebSocket upgrade may come from ("https://app.example"); an upgrade
    /// with another Origin is answered 403, one without (not a browser) is let through. Empty: any.
    std::vector<std::string> allowed_origins;
};

struct server_options {
    std::string address = "127.0.0.1";
    std::uint16_t port = 8080;  ///< 0 picks a free port; read it back with server::port()
    /// When set, the port speaks TLS only (wss:// and https://); else plain TCP only.
    std::optional<tls_files> tls;
    auth_options auth;
    session_limits limits;
    /// Bounds on every JSON document a client sends (frames and HTTP bodies).
    json_limits json;
    /// WebSocket sessions open at once; an upgrade past it is answered 503.
    std::size_t max_connections = 10'000;
    /// Largest HTTP request body; a bigger one is answered 413.
    std::size_t max_http_body_bytes = 1024 * 1024;
    /// Largest HTTP request header (request line and fields), and most fields; past either, 431.
    std::size_t max_http_header_bytes = 8 * 1024;
    std::size_t max_http_header_fields = 64;
    /// How long a connection may take to send one HTTP request, the WebSocket upgrade included:
    /// one that sends nothing is closed after it.
    std::chrono::milliseconds http_timeout{30'000};
    /// How much of the event log (the numbered events subscriptions may start from) is kept.
    log_retention log;
};

/// Bus threads beside `io_threads` gateway threads: the cores those leave, at least one. More
/// threads than cores only add hand-offs, each wake-up of a sleeping pool thread a futex call
/// and a context switch (on 2 cores, 1 bus thread beside 1 I/O thread serves about 40% more
/// submits than 2 bus threads).
[[nodiscard]] inline std::size_t default_bus_threads(std::size_t io_threads) noexcept {
    const std::size_t cores = std::max(1U, std::thread::hardware_concurrency());
    return cores > io_threads ? cores - io_threads : 1;
}

}  // namespace gateway
