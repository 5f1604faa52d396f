// cascade-server: the allocation domain on a cascade bus, served over WebSocket and HTTP.
#include "allocation_domain.hpp"
#include "gateway/io_pool.hpp"
#include "gateway/server.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <exception>
#include <map>
#include <pthread.h>
#include <signal.h>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct cli_options {
    std::string listen = "127.0.0.1:8080";
    std::size_t threads = 1;
    std::size_t bus_threads = 0;  // the cores the I/O threads leave
    std::string bus_executor = "pool";
    std::string store = "sqlite";
    std::string db = "allocation.db";
    std::string sync = "normal";
    std::string notifications = "notifications.log";
    std::string log_level = "info";
    double drain_seconds = 10.0;
    double flush_seconds = 2.0;
    gateway::session_limits limits;
    gateway::json_limits json;
    std::size_t max_connections = gateway::server_options{}.max_connections;
    std::size_t max_body = gateway::server_options{}.max_http_body_bytes;
    std::size_t max_header = gateway::server_options{}.max_http_header_bytes;
    std::size_t max_header_fields = gateway::server_options{}.max_http_header_fields;
    double http_timeout_seconds = 30.0;
    std::string tls_cert;
    std::string tls_key;
    std::string jwt_secret;
    std::string jwt_public_key;
    std::string jwt_issuer;
    std::string jwt_audience;
    std::vector<std::string> allowed_origins;
    std::size_t log_events = gateway::log_retention{}.max_events;
    std::int64_t log_seconds = gateway::log_retention{}.max_age.count();
    std::size_t log_bytes = gateway::log_retention{}.max_bytes;
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

/// A finite number from `least` to `most`: CLI::Range lets NaN through, and an infinite timeout
/// would overflow its conversion.
CLI::Validator finite_between(double least, double most) {
    return CLI::Validator{[least, most](std::string& text) -> std::string {
                              double value = 0;
                              try {
                                  value = std::stod(text);
                              } catch (const std::exception&) {
                                  return "not a number: " + text;
                              }
                              if (!std::isfinite(value) || value < least || value > most) {
                                  return fmt::format("{} is not a number from {} to {}", text, least, most);
                              }
                              return {};
                          },
                          fmt::format("FLOAT in [{} - {}]", least, most)};
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
    app.add_option("--bus-executor", cli.bus_executor,
                   "pool: the bus runs handlers on threads of its own; io: on the first I/O thread, where "
                   "submits arrive (no hand-over between threads)")
        ->capture_default_str()
        ->check(CLI::IsMember({"pool", "io"}));
    app.add_option("--store", cli.store, "where the allocation domain keeps its data")
        ->capture_default_str()
        ->check(CLI::IsMember({"sqlite", "memory"}));
    app.add_option("--db", cli.db, "SQLite database file (with --store sqlite)")->capture_default_str();
    app.add_option("--sync", cli.sync,
                   "when a SQLite commit is on disk: normal (survives a crash of the process) or full (survives "
                   "a power cut too, one fsync per commit)")
        ->capture_default_str()
        ->check(CLI::IsMember({"normal", "full"}));
    app.add_option("--notifications", cli.notifications, "file the out-of-stock notifications go to")
        ->capture_default_str();
    app.add_option("--log-level", cli.log_level, "trace, debug, info, warn, error, critical or off")
        ->capture_default_str()
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
    app.add_option("--drain-timeout", cli.drain_seconds,
                   "seconds that SIGINT/SIGTERM give accepted cascades to finish before they are cancelled")
        ->capture_default_str()
        ->check(finite_between(0.001, 86'400));
    app.add_option("--flush-timeout", cli.flush_seconds,
                   "seconds after the drain deadline for sessions to send their last frames and close (1012)")
        ->capture_default_str()
        ->check(finite_between(0, 86'400));
    app.add_option("--max-frame", cli.limits.max_frame_bytes,
                   "largest incoming WebSocket message, in bytes (over: close 1009)")
        ->capture_default_str();
    app.add_option("--max-in-flight", cli.limits.max_in_flight, "submits in flight per connection (over: overloaded)")
        ->capture_default_str();
    app.add_option("--queue-frames", cli.limits.max_queued_frames, "outgoing frames queued per connection (over: 4008)")
        ->capture_default_str();
    app.add_option("--queue-bytes", cli.limits.max_queued_bytes, "outgoing bytes queued per connection (over: 4008)")
        ->capture_default_str();
    app.add_option("--max-subscriptions", cli.limits.max_subscriptions,
                   "subscriptions live at once per connection (over: limit_exceeded)")
        ->capture_default_str();
    app.add_option("--submit-rate", cli.limits.submit_rate,
                   "submits a second per connection, on average; 0: no limit (over: rate_limited)")
        ->capture_default_str()
        ->check(finite_between(0, 1e6));
    app.add_option("--submit-burst", cli.limits.submit_burst, "submits a connection may send at once above the rate")
        ->capture_default_str()
        ->check(finite_between(1, 1e9));
    app.add_option("--max-connections", cli.max_connections, "WebSocket sessions open at once (over: HTTP 503)")
        ->capture_default_str();
    app.add_option("--max-body", cli.max_body, "largest HTTP request body, in bytes (over: 413)")
        ->capture_default_str();
    app.add_option("--max-header", cli.max_header, "largest HTTP request header, in bytes (over: 431)")
        ->capture_default_str();
    app.add_option("--max-header-fields", cli.max_header_fields, "most fields in an HTTP request header (over: 431)")
        ->capture_default_str();
    app.add_option("--max-json-depth", cli.json.max_depth,
                   "deepest nesting of objects and arrays in a frame or body (over: limit_exceeded)")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, gateway::max_json_depth));
    app.add_option("--max-string", cli.json.max_string_bytes,
                   "longest string in a frame or body, in bytes (over: limit_exceeded)")
        ->capture_default_str();
    app.add_option("--http-timeout", cli.http_timeout_seconds,
                   "seconds a connection gets to send one HTTP request, the WebSocket upgrade included")
        ->capture_default_str()
        ->check(finite_between(0.001, 86'400));
    auto* cert = app.add_option("--tls-cert", cli.tls_cert,
                                "PEM certificate chain (the server's first): serve wss:// and https:// only");
    auto* key = app.add_option("--tls-key", cli.tls_key, "PEM private key of --tls-cert");
    cert->needs(key);
    key->needs(cert);
    auto* secret = app.add_option("--auth-jwt-secret", cli.jwt_secret,
                                  "file holding the HS256 secret (its bytes, 32 or more): every request and "
                                  "upgrade needs a token signed with it")
                       ->check(CLI::ExistingFile);
    auto* public_key = app.add_option("--auth-jwt-public-key", cli.jwt_public_key,
                                      "PEM public key (RSA: RS256, EC P-256: ES256): every request and upgrade "
                                      "needs a token it verifies")
                           ->check(CLI::ExistingFile);
    secret->excludes(public_key);
    const auto needs_a_key = [secret, public_key](const std::string&) -> std::string {
        return secret->count() + public_key->count() == 0 ? "needs --auth-jwt-secret or --auth-jwt-public-key" : "";
    };
    app.add_option("--auth-jwt-issuer", cli.jwt_issuer, "the iss a token must carry (default: not checked)")
        ->check(needs_a_key);
    app.add_option("--auth-jwt-audience", cli.jwt_audience,
                   "the aud a token must name: this server (default: not checked)")
        ->check(needs_a_key);
    app.add_option("--allowed-origins", cli.allowed_origins,
                   "origins a browser's WebSocket upgrade may come from, comma-separated (others: 403); "
                   "default: any")
        ->delimiter(',');
    app.add_option("--log-events", cli.log_events,
                   "events the event log keeps for subscriptions that start from an offset")
        ->capture_default_str();
    app.add_option("--log-seconds", cli.log_seconds, "seconds the event log keeps an event")
        ->capture_default_str()
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{10} * 365 * 24 * 3600));
    app.add_option("--log-bytes", cli.log_bytes, "bytes of events the event log keeps at most")->capture_default_str();
}

/// SIGINT and SIGTERM, caught from construction on: one that arrives while the server starts is
/// not lost (nor does it kill the process before it can drain).
class termination_signals {
public:
    /// Blocks SIGINT and SIGTERM in this thread from now on, so in every thread it starts
    /// afterwards too: they stay pending until wait() takes them, and no handler ever runs (under
    /// ThreadSanitizer, which defers handlers, a SIGTERM caught by a handler once went unanswered).
    termination_signals() noexcept { ::pthread_sigmask(SIG_BLOCK, &caught_, nullptr); }

    /// Blocks until SIGINT or SIGTERM (one that came earlier is taken at once); returns which.
    [[nodiscard]] int wait() const noexcept {
        int received = SIGTERM;  // sigwait fails only for a set it cannot take, and this one it can
        (void)::sigwait(&caught_, &received);
        return received;
    }

private:
    [[nodiscard]] static sigset_t sigint_and_sigterm() noexcept {
        sigset_t set;
        ::sigemptyset(&set);
        ::sigaddset(&set, SIGINT);
        ::sigaddset(&set, SIGTERM);
        return set;
    }

    sigset_t caught_ = sigint_and_sigterm();
};

[[nodiscard]] std::chrono::nanoseconds seconds(double value) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(value));
}

/// After the flush timeout, how long the connections still open get to be cut.
constexpr std::chrono::seconds cut_grace{1};

int run(const cli_options& cli) {
    termination_signals signals;
    gateway::server_options options;
    parse_listen(cli.listen, options);
    options.limits = cli.limits;
    options.json = cli.json;
    options.max_connections = cli.max_connections;
    options.max_http_body_bytes = cli.max_body;
    options.max_http_header_bytes = cli.max_header;
    options.max_http_header_fields = cli.max_header_fields;
    if (!cli.tls_cert.empty()) {
        options.tls = gateway::tls_files{.certificate_chain = cli.tls_cert, .private_key = cli.tls_key};
    }
    options.http_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(seconds(cli.http_timeout_seconds));
    try {
        if (!cli.jwt_secret.empty()) {
            options.auth.tokens = gateway::token_verifier::with_secret_file(cli.jwt_secret);
        } else if (!cli.jwt_public_key.empty()) {
            options.auth.tokens = gateway::token_verifier::with_public_key_file(cli.jwt_public_key);
        }
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument{
            std::string{cli.jwt_secret.empty() ? "--auth-jwt-public-key " : "--auth-jwt-secret "} + e.what()};
    }
    if (options.auth.tokens) {
        options.auth.tokens->expect_issuer(cli.jwt_issuer);
        options.auth.tokens->expect_audience(cli.jwt_audience);
    }
    options.auth.allowed_origins = cli.allowed_origins;
    options.log = {
        .max_events = cli.log_events, .max_age = std::chrono::seconds{cli.log_seconds}, .max_bytes = cli.log_bytes};

    gateway::io_pool io{cli.threads};
    const bool bus_on_io = cli.bus_executor == "io";
    const auto bus_threads = bus_on_io
                                 ? std::size_t{1}
                                 : (cli.bus_threads != 0 ? cli.bus_threads : gateway::default_bus_threads(cli.threads));
    cascade::bus_options bus_options{.threads = bus_threads};
    if (bus_on_io) {
        bus_options.executor = io.first();
    }
    cascade::bus bus{std::move(bus_options)};
    const auto domain = cascade_server::load_allocation_domain(
        bus,
        {.store = cli.store == "memory" ? cascade_server::store_choice::memory : cascade_server::store_choice::sqlite,
         .db_path = cli.db,
         .sync = cli.sync == "full" ? allocation::sqlite_sync::full : allocation::sqlite_sync::normal,
         .notifications_path = cli.notifications});
    spdlog::info("cascade-server starting: {}, {} I/O thread{}, bus {}", domain.description, io.size(),
                 io.size() == 1 ? "" : "s",
                 bus_on_io ? std::string{"on the first I/O thread"}
                           : fmt::format("on {} thread{} of its own", bus_threads, bus_threads == 1 ? "" : "s"));

    if (options.auth.tokens) {
        spdlog::info("tokens required: {} (every request but /health, /metrics and the console's files)",
                     gateway::to_string(options.auth.tokens->algorithm()));
    }
    if (bus.journaled()) {
        spdlog::info("recovery: {} unfinished cascade{} resumed from the journal", domain.resumed,
                     domain.resumed == 1 ? "" : "s");
    }

    gateway::server server{io, bus, options, domain.http_routes};
    server.start();
    io.start();

    const int signal = signals.wait();
    spdlog::info("{} received: draining (cascades get {} s, then sessions {} s to close)",
                 signal == SIGINT ? "SIGINT" : "SIGTERM", cli.drain_seconds, cli.flush_seconds);

    // New submits are refused from here on; accepted cascades run until the drain deadline and are
    // cancelled after it, each one sending its `done`; then the sessions send what they owe and
    // close with 1012 within the flush time; whatever is left is cut.
    server.begin_drain();
    const bool bus_finished = bus.shutdown(seconds(cli.drain_seconds));
    const bool sessions_closed = server.wait_drained(seconds(cli.flush_seconds));
    server.stop(cut_grace);
    io.stop();
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
