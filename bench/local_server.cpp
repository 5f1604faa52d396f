#include "local_server.hpp"

#include <chrono>
#include <stdexcept>

namespace cascade::bench {

namespace {

[[nodiscard]] cascade::bus_options bus_options(const gateway_settings& s, bool bus_on_io, gateway::io_pool& io) {
    cascade::bus_options o{.threads = bus_on_io ? 1 : s.bus_threads};
    if (bus_on_io) {
        o.executor = io.first();
    }
    return o;
}

/// A free port, default limits.
[[nodiscard]] gateway::server_options server_options() {
    gateway::server_options o;
    o.port = 0;
    return o;
}

}  // namespace

local_server::local_server(const gateway_settings& s, const std::filesystem::path& db, bool bus_on_io)
    : io_{s.server_threads},
      bus_{bus_options(s, bus_on_io, io_)},
      domain_{cascade_server::load_allocation_domain(
          bus_,
          {.store = s.store == "memory" ? cascade_server::store_choice::memory : cascade_server::store_choice::sqlite,
           .db_path = db,
           .notifications_path = "/dev/null",
           .group_commit_records = s.store == "sqlite-per-record" ? 1U : 1024U})},
      server_{io_, bus_, server_options(), domain_.http_routes} {
    record_threads(io_, threads_);  // before the server accepts: it uses the round robin then
    const std::size_t bus_threads = bus_on_io ? 0 : s.bus_threads;
    if (bus_threads > 0) {
        record_threads(bus_.executor(), bus_threads, threads_);
    }
    server_.start();
    io_.start();
    if (!threads_.wait_for(io_.size() + bus_threads, std::chrono::seconds{10})) {
        throw std::runtime_error{"the server's I/O threads did not record themselves"};
    }
    threads_.add_others(started_between(threads_before_, process_thread_ids()));
}

local_server::~local_server() {
    (void)bus_.shutdown(std::chrono::seconds{10});
    server_.stop();
    io_.stop();
}

}  // namespace cascade::bench
