#pragma once
// What the cluster tests share: a nats-server of their own and clients of it.

#include "cluster/nats_client.hpp"
#include "files.hpp"
#include "nats_server.hpp"

#include <chrono>
#include <functional>
#include <thread>

namespace cluster_test {

/// A client of `server` that gives up quickly, so that tests of a lost server stay short.
[[nodiscard]] inline cluster::client_options options_for(const nats_server& server) {
    return {.url = server.url(),
            .name = "cascade-test",
            .connect_timeout = std::chrono::milliseconds{1000},
            .reconnect_wait = std::chrono::milliseconds{100},
            .request_timeout = std::chrono::milliseconds{2000}};
}

/// True once `condition` holds, false if it still does not after `timeout`.
[[nodiscard]] inline bool eventually(const std::function<bool()>& condition,
                                     std::chrono::milliseconds timeout = std::chrono::seconds{20}) {
    const auto give_up = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > give_up) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
    return true;
}

/// A nats-server in a temporary folder, and one client of it.
struct one_server {
    test_support::temp_folder folder;
    nats_server server{folder.path()};
    cluster::nats_client client{options_for(server)};
};

}  // namespace cluster_test
