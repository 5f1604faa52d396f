#pragma once
// The server's live connections (HTTP, and the WebSocket sessions they became), so that it can
// drain them, cut them, and know when they are gone. Internal: include only from server/src.

#include "connection.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace gateway {

class connection_registry {
public:
    enum class kind : std::uint8_t { http, websocket };
    /// What the server is doing with its connections; a connection that registers late is
    /// brought into the current phase at once.
    enum class phase : std::uint8_t { serving, draining, stopping };

    /// Registers connection `serial` (false, and nothing registered, once stopping).
    [[nodiscard]] bool add(std::uint64_t serial, const std::shared_ptr<connection>& conn, kind k);
    /// Counts connection `serial` as a WebSocket session from now on, unless `max_sessions` are
    /// counted already (false: nothing changes). Taken before the upgrade, so that two upgrades at
    /// once cannot both pass the bound.
    [[nodiscard]] bool reserve_session(std::uint64_t serial, std::size_t max_sessions);
    /// Registers the WebSocket session that connection `serial` became, in its place.
    void replace(std::uint64_t serial, const std::shared_ptr<connection>& conn);
    void remove(std::uint64_t serial);

    /// Enters the drain: every connection, and every one registered later, is drained.
    void begin_drain();
    /// Enters the stop: every connection is cut, and none is registered any more.
    void abort_all();
    /// What is left no longer hears from the bus.
    void detach_all();

    /// Blocks until no connection is left, or `timeout`; true when none is.
    [[nodiscard]] bool wait_empty(std::chrono::nanoseconds timeout);
    [[nodiscard]] std::size_t websocket_sessions() const;

private:
    struct entry {
        std::weak_ptr<connection> conn;
        kind k;
    };
    [[nodiscard]] std::vector<std::shared_ptr<connection>> live_locked() const;
    /// Brings a connection registered during a drain or a stop into that phase.
    static void apply(phase p, connection& conn);

    mutable std::mutex mutex_;
    std::condition_variable emptied_;
    std::map<std::uint64_t, entry> entries_;
    std::size_t websockets_ = 0;  ///< entries of kind websocket
    phase phase_ = phase::serving;
};

}  // namespace gateway
