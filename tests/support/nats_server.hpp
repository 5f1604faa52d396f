#pragma once
// Debian's nats-server with JetStream, started for a test in a folder of its own on a free port
// (or on a given one, to restart it where clients expect it), killed at the end; and clients of it.

#include "child_process.hpp"
#include "files.hpp"

#include <chrono>
#include <cluster/nats_client.hpp>
#include <cstdint>
#include <string>

namespace test_support {

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
    child_process process_;
    std::uint16_t port_ = 0;
};

/// A client of `server` that gives up quickly, so that tests of a lost server stay short.
[[nodiscard]] inline cluster::client_options options_for(const nats_server& server) {
    return {.url = server.url(),
            .name = "cascade-test",
            .connect_timeout = std::chrono::milliseconds{1000},
            .reconnect_wait = std::chrono::milliseconds{100},
            .request_timeout = std::chrono::milliseconds{2000}};
}

/// A nats-server in a temporary folder, and one client of it.
struct one_server {
    temp_folder folder;
    nats_server server{folder.path()};
    cluster::nats_client client{options_for(server)};
};

}  // namespace test_support
