#pragma once
// What every connection of one server shares. Connections hold it by shared_ptr, so it outlives
// the last of them, whenever their coroutines are destroyed. Internal: include only from server/src.

#include "connection_registry.hpp"
#include "gateway/http_router.hpp"
#include "gateway/live_feed.hpp"
#include "gateway/metrics.hpp"
#include "gateway/options.hpp"
#include "gateway/submitter.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <random>

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace gateway {

struct server_state {
    /// Throws when options.tls names files that cannot be used.
    server_state(cascade::bus& bus, server_options opts, routes extra);

    server_options options;
    std::shared_ptr<live_feed> feed = std::make_shared<live_feed>(options.log);
    gateway_metrics metrics;
    gateway::submitter submitter;
    http_router router;
    connection_registry connections;
    std::atomic<bool> draining{false};  ///< new submits and keep-alive are refused from now on
    std::atomic<std::uint64_t> next_serial{1};
    std::uint32_t nonce;                             ///< makes session ids differ across restarts
    std::shared_ptr<boost::asio::ssl::context> tls;  ///< set when the port speaks TLS
};

}  // namespace gateway
