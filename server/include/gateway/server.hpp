#pragma once
// The gateway: one port serving HTTP and WebSocket (protocol v1, at /ws) over a bus, on I/O
// threads the application owns (an io_pool). Beast stays behind the pimpl, so including this
// header is cheap.

#include "cascade/bus.hpp"
#include "gateway/http_router.hpp"
#include "gateway/io_pool.hpp"
#include "gateway/metrics.hpp"
#include "gateway/options.hpp"
#include "gateway/submitter.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace gateway {

class server {
public:
    /// Serves `bus` on the contexts of `io`. `extra` answers the domain's HTTP routes (the book's);
    /// the gateway's own come first. The pool must run from start() until stop() returns, and the
    /// bus must outlive the server.
    server(io_pool& io, cascade::bus& bus, server_options options, routes extra = {});
    /// stop()
    ~server();

    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// Binds and listens; connections are served once the pool runs. Throws std::system_error
    /// when it cannot bind.
    void start();

    /// The port bound by start(), useful with port 0.
    [[nodiscard]] std::uint16_t port() const noexcept;
    /// "host:port" as bound.
    [[nodiscard]] std::string listen_address() const;

    /// Graceful shutdown, first half: stops accepting connections, refuses new submits with
    /// shutting_down, lets accepted cascades send their `done`, then closes each WebSocket session
    /// with 1012 and each HTTP connection after its response. Does not block.
    void begin_drain();
    /// Blocks until every connection has closed, or until `timeout`; true when drained.
    [[nodiscard]] bool wait_drained(std::chrono::nanoseconds timeout);
    /// Cuts every connection still open and waits, up to `grace`, for them to end. Idempotent.
    void stop(std::chrono::nanoseconds grace = std::chrono::seconds{2});

    [[nodiscard]] gateway_metrics& metrics() noexcept;
    [[nodiscard]] gateway::submitter& submitter() noexcept;
    /// WebSocket sessions live now.
    [[nodiscard]] std::size_t sessions() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace gateway
