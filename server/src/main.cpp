// cascade-server: the allocation domain on a cascade bus, served over WebSocket and HTTP.
#include "gateway/app_domain.hpp"
#include "gateway/server.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <csignal>
#include <exception>
#include <map>
#include <string>

namespace {

struct cli_options {
    std::string listen = "127.0.0.1:8080";
    std::size_t threads = 1;
    std::size_t bus_threads = 0;  // the cores the I/O threads leave
    std::string store = "sqlite";
    std::string db = "allocation.db";
    std::string notifications = "notifications.log";
    std::string log_level = "info";
    double drain_seconds = 10.0;
    gateway::session_limits limits;
};

/// "host:port" into the server's address and port; the host may be an IPv6 literal in brackets.
void parse_listen(const std::string& listen, gateway::server_options& options) {
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos) {
        throw CLI::ValidationError{"--listen", "expected HOST:PORT, got '" + listen + "'"};
    }
    auto host = listen.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    options.address = host.empty() ? "0.0.0.0" : host;
    options.port = static_cast<std::uint16_t>(std::stoul(listen.substr(colon + 1)));
}

void add_flags(CLI::App& app, cli_options& cli) {
    app.add_option("--listen", cli.listen, "HOST:PORT to serve HTTP and WebSocket (/ws) on; port 0 picks one")
        ->capture_default_str();
    app.add_option("--threads", cli.threads, "I/O threads of the gateway")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("--bus-threads", cli.bus_threads,
                   "threads of the bus that run the handlers; 0: the cores the I/O threads leave, at least 1")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    app.add_option("--store", cli.store, "where the allocation domain keeps its data")
        ->capture_default_str()
        ->check(CLI::IsMember({"sqlite", "memory"}));
    app.add_option("--db", cli.db, "SQLite database file (with --store sqlite)")->capture_default_str();
    app.add_option("--notifications", cli.notifications, "file the out-of-stock notifications go to")
        ->capture_default_str();
    app.add_option("--log-level", cli.log_level, "trace, debug, info, warn, error, critical or off")
        ->capture_default_str()
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
    app.add_option("--drain-timeout", cli.drain_seconds,
                   "seconds that SIGINT/SIGTERM give cascades and sessions to finish")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("--max-frame", cli.limits.max_frame_bytes,
                   "largest incoming WebSocket message, in bytes (over: close 1009)")
        ->capture_default_str();
    app.add_option("--max-in-flight", cli.limits.max_in_flight, "submits in flight per connection (over: overloaded)")
        ->capture_default_str();
    app.add_option("--queue-frames", cli.limits.max_queued_frames, "outgoing frames queued per connection (over: 4008)")
        ->capture_default_str();
    app.add_option("--queue-bytes", cli.limits.max_queued_bytes, "outgoing bytes queued per connection (over: 4008)")
        ->capture_default_str();
}

/// Blocks until SIGINT or SIGTERM.
int wait_for_signal() {
    boost::asio::io_context signals_context;
    boost::asio::signal_set signals{signals_context, SIGINT, SIGTERM};
    int received = 0;
    signals.async_wait([&](const boost::system::error_code& ec, int signal) {
        if (!ec) {
            received = signal;
        }
    });
    signals_context.run();
    return received;
}

int run(const cli_options& cli) {
    gateway::server_options options;
    parse_listen(cli.listen, options);
    options.threads = cli.threads;
    options.limits = cli.limits;

    const auto bus_threads = cli.bus_threads != 0 ? cli.bus_threads : gateway::default_bus_threads(cli.threads);
    cascade::bus bus{{.threads = bus_threads}};
    const auto domain = gateway::load_allocation_domain(
        bus, {.store = cli.store == "memory" ? gateway::store_choice::memory : gateway::store_choice::sqlite,
              .db_path = cli.db,
              .notifications_path = cli.notifications});
    spdlog::info("cascade-server starting: {}, {} bus thread{}", domain.description, bus_threads,
                 bus_threads == 1 ? "" : "s");

    gateway::server server{bus, options, domain.http_routes};
    server.start();

    const int signal = wait_for_signal();
    spdlog::info("{} received: draining (deadline {} s)", signal == SIGINT ? "SIGINT" : "SIGTERM", cli.drain_seconds);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                                 std::chrono::duration<double>(cli.drain_seconds));
    const auto remaining = [&] {
        return std::max(std::chrono::nanoseconds{0}, deadline - std::chrono::steady_clock::now());
    };

    // New submits are refused from here on; accepted cascades run to their end (or are cancelled
    // at 80% of the deadline), each sends its `done`, and the sessions close with 1012.
    server.begin_drain();
    const bool bus_finished = bus.shutdown(remaining() * 4 / 5);
    const bool sessions_closed = server.wait_drained(remaining());
    server.stop();
    spdlog::info("drained: cascades {}, sessions {}", bus_finished ? "finished" : "cancelled at the deadline",
                 sessions_closed ? "closed" : "cut at the deadline");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"cascade-server: the allocation service on a cascade bus, over WebSocket (protocol v1) and HTTP"};
    cli_options cli;
    add_flags(app, cli);
    CLI11_PARSE(app, argc, argv);

    spdlog::set_level(spdlog::level::from_str(cli.log_level));
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    try {
        return run(cli);
    } catch (const std::exception& e) {
        spdlog::critical("cascade-server: {}", e.what());
        return 1;
    }
}
