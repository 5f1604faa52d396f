#pragma once
// What the gateway scenario's command line sets.

#include <cstddef>
#include <string>

namespace cascade::bench {

struct gateway_settings {
    std::size_t connections = 64;
    std::size_t inflight = 16;
    double seconds = 5;
    std::string url;               ///< empty: start the server in-process
    std::string store = "memory";  ///< memory, sqlite, sqlite-per-record, or all (one run each)
    std::size_t server_threads = 1;
    std::size_t bus_threads = 0;        // as cascade-server: the cores the I/O threads leave, at least 1
    std::string bus_executor = "both";  ///< pool, io, or both (one run each)
    std::size_t client_threads = 1;
    std::size_t skus = 5'000;  // many lanes, and few order lines per product
    bool baseline = true;      ///< also run the load against transport_baseline
    /// Submits per second in all, open loop (each sent at its planned time); 0: closed loop,
    /// `inflight` per connection, which finds the saturating rate.
    double rate = 0;

    [[nodiscard]] bool open_loop() const noexcept { return rate > 0; }
};

}  // namespace cascade::bench
