#pragma once
// The gateway: one port serving HTTP and WebSocket (protocol v1, at /ws) over a bus, with its own
// I/O threads. Beast stays behind the pimpl, so including this header is cheap.

#include "gateway/dispatcher.hpp"
#include "gateway/http.hpp"
#include "gateway/metrics.hpp"
#include "gateway/options.hpp"

#include "cascade/bus.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace gateway {

class server {
public:
    /// `extra` answers the domain's HTTP routes (the book's); the gateway's own come first.
    /// The bus must outlive the server and be idle (or shut down) before the server is stopped.
    server(cascade::bus& bus, server_options options, routes extra = {});
    /// stop()
    ~server();

    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// Binds, listens and starts the I/O threads. Throws std::system_error when it cannot bind.
    void start();

    /// The port bound by start(), useful with port 0.
    [[nodiscard]] std::uint16_t port() const noexcept;
    /// "host:port" as bound.
    [[nodiscard]] std::string listen_address() const;

    /// Graceful shutdown, first half: stops accepting connections, refuses new submits with
    /// shutting_down, lets accepted cascades send their `done`, then closes each session with 1012.
    /// Does not block.
    void begin_drain();
    /// Blocks until every WebSocket session has closed and every HTTP request was answered, or
    /// until `timeout`; true when drained.
    [[nodiscard]] bool wait_drained(std::chrono::nanoseconds timeout);
    /// Closes everything now and joins the I/O threads. Idempotent.
    void stop();

    [[nodiscard]] gateway_metrics& metrics() noexcept;
    [[nodiscard]] dispatcher& gateway() noexcept;
    /// WebSocket sessions live now.
    [[nodiscard]] std::size_t sessions() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace gateway
