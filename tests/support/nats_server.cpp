#include "nats_server.hpp"

#include <chrono>
#include <stdexcept>

namespace test_support {

namespace {

// The build passes the nats-server it found (it refuses to configure without one).
constexpr const char* nats_server_executable = CASCADE_NATS_SERVER_PATH;

[[nodiscard]] std::vector<std::string> arguments(const std::string& store_dir, std::uint16_t port) {
    // -1: a free port, which nats-server then names in its log.
    return {"-a", "127.0.0.1", "-p", port == 0 ? "-1" : std::to_string(port), "-js", "-sd", store_dir};
}

}  // namespace

nats_server::nats_server(const std::string& store_dir, std::uint16_t port)
    : process_{nats_server_executable, arguments(store_dir, port), store_dir} {
    const auto listening =
        process_.wait_for_line("Listening for client connections on 127.0.0.1:", std::chrono::seconds{30});
    const auto ready = listening ? process_.wait_for_line("Server is ready", std::chrono::seconds{30}) : std::nullopt;
    if (!ready) {
        const auto output = process_.output();
        process_.kill_now();
        throw std::runtime_error{"nats-server did not start:\n" + output};
    }
    port_ = static_cast<std::uint16_t>(std::stoi(*listening));
}

}  // namespace test_support
