#pragma once
// Debian's nats-server with JetStream, started for a test in a folder of its own on a free port
// (or on a given one, to restart it where clients expect it), killed at the end.

#include "child_process.hpp"

#include <cstdint>
#include <string>

namespace cluster_test {

class nats_server {
public:
    /// Starts nats-server storing JetStream data under `store_dir` and waits until it is ready.
    /// Port 0 lets it pick a free one. Throws std::runtime_error, with its output, when it does
    /// not start.
    explicit nats_server(const std::string& store_dir, std::uint16_t port = 0);

    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
    [[nodiscard]] std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
    /// SIGKILL, and waits until it is gone.
    void kill() noexcept { process_.kill_now(); }

private:
    test_support::child_process process_;
    std::uint16_t port_ = 0;
};

}  // namespace cluster_test
