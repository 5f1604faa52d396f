#pragma once
// The gateway scenario's baseline: a WebSocket server that answers every submit with the frames
// cascade-server sends for one AllocationRequired (ack, one event, done), of the same sizes, but
// canned: no bus, no domain, no JSON. The load client cannot tell the difference, so the same run
// shows what the transport alone (Beast and loopback TCP on this machine) costs.

#include <cstddef>
#include <cstdint>
#include <memory>

namespace cascade::bench {

class thread_cpu_clocks;

class transport_baseline {
public:
    /// Listens on 127.0.0.1 on a port the kernel picks, served by `threads` I/O threads.
    explicit transport_baseline(std::size_t threads);
    /// Stops the threads; connections still open are cut.
    ~transport_baseline();
    transport_baseline(const transport_baseline&) = delete;
    transport_baseline& operator=(const transport_baseline&) = delete;

    [[nodiscard]] std::uint16_t port() const noexcept;
    /// Its I/O threads, for the CPU they spend.
    [[nodiscard]] const thread_cpu_clocks& threads() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace cascade::bench
