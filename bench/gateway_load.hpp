#pragma once
// The gateway scenario's load client: C WebSocket connections with W AllocationRequired submits
// in flight on each, against any protocol-v1 server, for a while.

#include "gateway_settings.hpp"
#include "report.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <string>

namespace cascade::bench {

/// Where the load goes: ws://HOST:PORT/PATH.
struct target {
    std::string host;
    std::string port;
    std::string path;
};

/// ws://HOST:PORT/PATH; throws std::invalid_argument on anything else.
[[nodiscard]] target parse_url(const std::string& url);

/// The server's address, looked up once.
[[nodiscard]] boost::asio::ip::tcp::endpoint resolve(const target& where);

struct connection_stats {
    std::uint64_t done = 0;     ///< terminal frames inside the measured window
    std::uint64_t events = 0;   ///< event frames inside the measured window
    std::uint64_t failed = 0;   ///< done with status failed
    std::uint64_t refused = 0;  ///< error frames
    latency_recorder latency;   ///< submit to done, every submit
};

/// What one load run measured.
struct load_figures {
    connection_stats total;
    double elapsed = 0;      ///< seconds of the measured window
    double cpu_seconds = 0;  ///< CPU time this process spent in the window, on all its threads
};

/// Sets the batches up, then drives the load against the server for the configured time.
[[nodiscard]] load_figures apply_load(const gateway_settings& s, const target& where,
                                      const boost::asio::ip::tcp::endpoint& endpoint);

/// The server's peak resident memory from its /metrics, in MiB; negative when unavailable.
[[nodiscard]] double server_peak_mib(const boost::asio::ip::tcp::endpoint& endpoint);

}  // namespace cascade::bench
