#pragma once
// The gateway scenario's in-process server, when no --url is given: cascade-server's gateway and
// allocation domain as cascade-server runs them, its bus on threads of its own or on the first
// I/O thread.

#include "allocation_domain.hpp"
#include "gateway/io_pool.hpp"
#include "gateway/server.hpp"
#include "gateway_settings.hpp"
#include "thread_cpu.hpp"

#include <cascade/bus.hpp>

#include <filesystem>
#include <set>
#include <sys/types.h>

namespace cascade::bench {

class local_server {
public:
    /// Starts serving on a free port; `db` is the SQLite file when the store is one.
    local_server(const gateway_settings& s, const std::filesystem::path& db, bool bus_on_io);
    /// Drains the bus, then stops the server and its threads.
    ~local_server();
    local_server(const local_server&) = delete;
    local_server& operator=(const local_server&) = delete;

    [[nodiscard]] std::uint16_t port() const noexcept { return server_.port(); }
    /// The server's threads: its I/O threads, the bus's own, and any its domain started.
    [[nodiscard]] const thread_cpu_clocks& threads() const noexcept { return threads_; }

private:
    // First: taken before any member starts a thread, and outliving every thread that records
    // itself into threads_.
    std::set<pid_t> threads_before_ = process_thread_ids();
    thread_cpu_clocks threads_;
    gateway::io_pool io_;
    cascade::bus bus_;
    cascade_server::app_domain domain_;
    gateway::server server_;
};

}  // namespace cascade::bench
