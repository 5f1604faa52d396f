#include "gateway/server.hpp"

#include "listener.hpp"
#include "server_state.hpp"

#include <spdlog/spdlog.h>

#include <atomic>

namespace gateway {

struct server::impl {
    impl(io_pool& io, cascade::bus& bus, server_options options, routes extra)
        : state{std::make_shared<server_state>(bus, std::move(options), std::move(extra))},
          acceptor{std::make_shared<listener>(io, state)} {}

    std::shared_ptr<server_state> state;
    std::shared_ptr<listener> acceptor;
    std::atomic<bool> stopped{false};
};

server::server(io_pool& io, cascade::bus& bus, server_options options, routes extra)
    : impl_{std::make_unique<impl>(io, bus, std::move(options), std::move(extra))} {}

server::~server() {
    stop();
}

void server::start() {
    impl_->acceptor->start();
    const bool tls = impl_->state->tls != nullptr;
    spdlog::info("listening on {} ({} and WebSocket at {}://{}/ws)", listen_address(), tls ? "HTTPS" : "HTTP",
                 tls ? "wss" : "ws", listen_address());
}

std::uint16_t server::port() const noexcept {
    return impl_->acceptor->bound().port();
}

std::string server::listen_address() const {
    const auto& bound = impl_->acceptor->bound();
    return bound.address().to_string() + ":" + std::to_string(bound.port());
}

void server::begin_drain() {
    auto& s = *impl_->state;
    if (s.draining.exchange(true)) {
        return;
    }
    s.submitter.stop_accepting();
    impl_->acceptor->close();
    const auto sessions = s.connections.websocket_sessions();
    spdlog::info("draining: {} WebSocket session{} to finish", sessions, sessions == 1 ? "" : "s");
    s.connections.begin_drain();
}

bool server::wait_drained(std::chrono::nanoseconds timeout) {
    return impl_->state->connections.wait_empty(timeout);
}

void server::stop(std::chrono::nanoseconds grace) {
    if (impl_->stopped.exchange(true)) {
        return;
    }
    auto& s = *impl_->state;
    s.draining = true;
    s.submitter.stop_accepting();
    impl_->acceptor->close();
    // Cut, then wait for the cuts to run on the I/O threads: stopping the threads at once would
    // leave the sockets open and the cuts unrun.
    s.connections.abort_all();
    if (!s.connections.wait_empty(grace)) {
        spdlog::warn("stopping with connections that did not end in time");
    }
    // Whatever is left no longer hears from the bus: its io_context may go away after this.
    s.connections.detach_all();
    spdlog::info("server stopped");
}

gateway_metrics& server::metrics() noexcept {
    return impl_->state->metrics;
}

gateway::submitter& server::submitter() noexcept {
    return impl_->state->submitter;
}

std::size_t server::sessions() const {
    return impl_->state->connections.websocket_sessions();
}

}  // namespace gateway
