#pragma once
// The gateway scenario's load client: C WebSocket connections with W AllocationRequired submits
// in flight on each, against any protocol-v1 server, for a while.

#include "gateway_settings.hpp"
#include "report.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace cascade::bench {

class thread_cpu_clocks;

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
    latency_recorder latency;   ///< submit (its planned time, open loop) to done, every submit
};

/// What one load run measured.
struct load_figures {
    connection_stats total;
    double elapsed = 0;      ///< seconds of the measured window
    double cpu_seconds = 0;  ///< CPU time this process spent in the window, on all its threads
    /// CPU time the server's threads spent in the window, when they are known (in-process).
    std::optional<double> server_cpu_seconds;
    std::size_t server_threads = 0;  ///< how many threads server_cpu_seconds covers
    double target_rate = 0;          ///< the open loop's submits per second; 0: closed loop
};

/// Sets the batches up, then drives the load against the server for the configured time;
/// `server_threads`, when given, are read at the window's start and end.
[[nodiscard]] load_figures apply_load(const gateway_settings& s, const target& where,
                                      const boost::asio::ip::tcp::endpoint& endpoint,
                                      const thread_cpu_clocks* server_threads = nullptr);

/// The server's peak resident memory from its /metrics, in MiB; negative when unavailable.
[[nodiscard]] double server_peak_mib(const boost::asio::ip::tcp::endpoint& endpoint);

}  // namespace cascade::bench
