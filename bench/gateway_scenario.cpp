// The gateway scenario: C WebSocket connections with W submits in flight on each, for a while,
// against cascade-server in-process (the allocation domain) or any protocol-v1 server by URL.
// It reports submits and streamed events per second, submit-to-done latency, and the server's
// peak memory (read from its /metrics). In-process, it runs the bus both ways cascade-server can:
// on threads of its own, and on the gateway's I/O thread. A baseline run then applies the same
// load to canned replies (transport_baseline.hpp), to show what Beast and loopback TCP alone cost.
#include "allocation_domain.hpp"
#include "gateway/coalescing_stream.hpp"
#include "gateway/io_pool.hpp"
#include "gateway/server.hpp"
#include "report.hpp"
#include "scenarios.hpp"
#include "transport_baseline.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>
#include <simdjson.h>
#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <unordered_map>
#include <vector>

namespace cascade::bench {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace http = beast::http;
using tcp = net::ip::tcp;
using json = nlohmann::json;
using clock = std::chrono::steady_clock;

namespace {

struct gateway_settings {
    std::size_t connections = 64;
    std::size_t inflight = 16;
    double seconds = 5;
    std::string url;               ///< empty: start the server in-process
    std::string store = "memory";  ///< memory, sqlite, sqlite-per-record, or all (one run each)
    std::size_t server_threads = 1;
    std::size_t bus_threads = 0;        // as cascade-server: the cores the I/O threads leave, at least 1
    std::string bus_executor = "both";  ///< pool, io, or both (one run each)
    std::size_t client_threads = 1;
    std::size_t skus = 5'000;  // many lanes, and few order lines per product
    bool baseline = true;      ///< also run the load against transport_baseline
};

struct target {
    std::string host;
    std::string port;
    std::string path;
};

/// ws://HOST:PORT/PATH
target parse_url(const std::string& url) {
    constexpr std::string_view scheme = "ws://";
    if (!url.starts_with(scheme)) {
        throw std::invalid_argument{"--url must look like ws://HOST:PORT/ws"};
    }
    const auto rest = url.substr(scheme.size());
    const auto slash = rest.find('/');
    const auto authority = rest.substr(0, slash);
    const auto colon = authority.rfind(':');
    return {.host = authority.substr(0, colon),
            .port = colon == std::string::npos ? "80" : authority.substr(colon + 1),
            .path = slash == std::string::npos ? "/" : rest.substr(slash)};
}

/// The client's streams buffer writes the way the server's do, so the client is not the bottleneck.
using client_stream = websocket::stream<gateway::coalescing_stream<beast::tcp_stream>, false>;

struct connection_stats {
    std::uint64_t done = 0;     ///< terminal frames inside the measured window
    std::uint64_t events = 0;   ///< event frames inside the measured window
    std::uint64_t failed = 0;   ///< done with status failed
    std::uint64_t refused = 0;  ///< error frames
    latency_recorder latency;   ///< submit to done, every submit
};

struct shared_run {
    std::atomic<bool> stopping{false};
    std::string nonce;  ///< keeps order ids and batch refs unique across runs against one server
    std::vector<std::string> skus;
};

/// What a load client needs of a frame: its type and the request it answers.
struct frame_info {
    std::string type;
    std::string re;
    std::string status;
};

/// Picks the top-level "type", "re" and "status" out of a frame with simdjson's on-demand
/// parser, and stops as soon as it has what the frame's type needs: no document is built, and
/// the event inside an event frame is not even read when "type" and "re" come first, as
/// cascade-server writes them. The load client's own CPU time is taken from the server it
/// measures: this costs a third of what nlohmann's SAX parser did for the same frames.
frame_info classify(std::string_view text) {
    thread_local simdjson::ondemand::parser parser;
    const simdjson::padded_string padded{text};
    frame_info info;
    const auto complete = [&info] {
        return !info.type.empty() && !info.re.empty() && (info.type != "done" || !info.status.empty());
    };
    try {
        auto document = parser.iterate(padded);
        for (auto field : document.get_object()) {
            const std::string_view key = field.unescaped_key();
            std::string* target = key == "type"     ? &info.type
                                  : key == "re"     ? &info.re
                                  : key == "status" ? &info.status
                                                    : nullptr;
            if (target != nullptr) {
                *target = std::string_view{field.value().get_string()};
                if (complete()) {
                    break;
                }
            }
        }
    } catch (const simdjson::simdjson_error& e) {
        throw std::runtime_error{std::string{"a frame that is not JSON: "} + e.what()};
    }
    return info;
}

/// The sequence number that ends a submit id ("<nonce>-<connection>-<seq>").
std::uint64_t parse_seq(std::string_view re) {
    const auto digits = re.substr(re.rfind('-') + 1);  // npos + 1 is 0: all of it
    std::uint64_t seq = 0;
    std::from_chars(digits.data(), digits.data() + digits.size(), seq);
    return seq;
}

net::awaitable<void> open(client_stream& ws, const tcp::endpoint& endpoint, const target& where) {
    ws.next_layer().flush_when_reading();
    auto& tcp_layer = beast::get_lowest_layer(ws);
    co_await tcp_layer.async_connect(endpoint, net::use_awaitable);
    tcp_layer.socket().set_option(tcp::no_delay{true});
    const std::string host = where.host + ":" + where.port;
    co_await ws.async_handshake(host, where.path, net::use_awaitable);
    beast::flat_buffer welcome;
    co_await ws.async_read(welcome, net::use_awaitable);
}

json submit_frame(std::string id, std::string_view name, json data) {
    return {{"type", "submit"}, {"id", std::move(id)}, {"name", name}, {"data", std::move(data)}};
}

/// Creates one big batch per SKU, so that allocations never run out of stock.
net::awaitable<void> set_up(tcp::endpoint endpoint, target where, const shared_run& run) {
    client_stream ws{co_await net::this_coro::executor};
    co_await open(ws, endpoint, where);
    constexpr std::uint64_t window = 64;  // well under the server's cap of submits in flight
    std::uint64_t sent = 0;
    std::uint64_t finished = 0;
    beast::flat_buffer buffer;
    while (finished < run.skus.size()) {
        while (sent < run.skus.size() && sent - finished < window) {
            const auto& sku = run.skus[sent];
            const auto frame =
                submit_frame(run.nonce + "-setup-" + std::to_string(sent++), "BatchCreated",
                             {{"ref", "batch-" + sku}, {"sku", sku}, {"qty", 1'000'000'000}, {"eta", nullptr}})
                    .dump();
            co_await ws.async_write(net::buffer(frame), net::use_awaitable);
        }
        co_await ws.async_read(buffer, net::use_awaitable);
        const std::string text{static_cast<const char*>(buffer.cdata().data()), buffer.size()};
        buffer.consume(buffer.size());
        const auto info = classify(text);
        if (info.type == "error" || (info.type == "done" && info.status != "ok")) {
            throw std::runtime_error{"setting up the batches failed: " + text};
        }
        finished += info.type == "done" ? 1 : 0;
    }
    co_await ws.async_close(websocket::close_code::normal, net::use_awaitable);
}

/// One connection: W AllocationRequired in flight until the run stops, then drains its window.
net::awaitable<void> drive(tcp::endpoint endpoint, target where, std::size_t index, const gateway_settings& s,
                           const shared_run& run, connection_stats& stats) {
    client_stream ws{co_await net::this_coro::executor};
    co_await open(ws, endpoint, where);
    std::mt19937_64 rng{index};
    std::uniform_int_distribution<std::size_t> pick{0, run.skus.size() - 1};
    std::unordered_map<std::uint64_t, clock::time_point> pending;
    std::uint64_t seq = 0;
    std::string frame;
    const std::string order_prefix = "o-" + run.nonce + "-" + std::to_string(index) + "-";
    // Unique across connections and runs: on a durable server an id is an idempotency key.
    const std::string id_prefix = run.nonce + "-" + std::to_string(index) + "-";

    auto send_one = [&]() -> net::awaitable<void> {
        const auto id = seq++;
        // Spelled out rather than built as a document: the load client's own CPU time is taken
        // from the server it measures, and every part of this frame is plain ASCII.
        const auto text = std::to_string(id);
        frame = R"({"type":"submit","id":")";
        frame += id_prefix;
        frame += text;
        frame += R"(","name":"AllocationRequired","data":{"orderid":")";
        frame += order_prefix;
        frame += text;
        frame += R"(","sku":")";
        frame += run.skus[pick(rng)];
        frame += R"(","qty":1}})";
        pending.emplace(id, clock::now());
        co_await ws.async_write(net::buffer(frame), net::use_awaitable);
    };

    for (std::size_t i = 0; i < s.inflight; ++i) {
        co_await send_one();
    }
    beast::flat_buffer buffer;
    while (!pending.empty()) {
        co_await ws.async_read(buffer, net::use_awaitable);
        const auto info = classify({static_cast<const char*>(buffer.cdata().data()), buffer.size()});
        buffer.consume(buffer.size());
        const bool measuring = !run.stopping.load(std::memory_order_relaxed);
        if (info.type == "event") {
            stats.events += measuring ? 1 : 0;
            continue;
        }
        if (info.type != "done" && info.type != "error") {
            continue;  // ack
        }
        const auto it = pending.find(parse_seq(info.re));
        if (it == pending.end()) {
            continue;
        }
        stats.latency.add(clock::now() - it->second);
        pending.erase(it);
        if (info.type == "error") {
            ++stats.refused;
        } else if (info.status == "failed") {
            ++stats.failed;
        }
        stats.done += measuring ? 1 : 0;
        if (measuring) {
            co_await send_one();
        }
    }
    co_await ws.async_close(websocket::close_code::normal, net::use_awaitable);
}

/// The server's peak resident memory from its /metrics, in MiB; negative when unavailable.
double server_peak_mib(const tcp::endpoint& endpoint) {
    try {
        net::io_context ioc;
        beast::tcp_stream stream{ioc};
        stream.connect(endpoint);
        http::request<http::empty_body> request{http::verb::get, "/metrics", 11};
        request.set(http::field::host, endpoint.address().to_string());
        http::write(stream, request);
        beast::flat_buffer buffer;
        http::response<http::string_body> response;
        http::read(stream, buffer, response);
        constexpr std::string_view metric = "\ncascade_process_peak_resident_memory_bytes ";
        const auto& body = response.body();
        const auto at = body.find(metric);
        if (at == std::string::npos) {
            std::fprintf(stderr, "no peak memory in /metrics (HTTP %u, %zu bytes)\n", response.result_int(),
                         body.size());
            return -1;
        }
        return std::stod(body.substr(at + metric.size())) / (1024.0 * 1024.0);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "reading /metrics failed: %s\n", e.what());
        return -1;
    }
}

/// The in-process server, when no --url is given: as cascade-server runs, its bus on threads of
/// its own or on the first I/O thread.
struct local_server {
    local_server(const gateway_settings& s, const std::filesystem::path& db, bool bus_on_io)
        : io{s.server_threads},
          bus{bus_options(s, bus_on_io, io)},
          domain{cascade_server::load_allocation_domain(
              bus, {.store = s.store == "memory" ? cascade_server::store_choice::memory
                                                 : cascade_server::store_choice::sqlite,
                    .db_path = db,
                    .notifications_path = "/dev/null",
                    .group_commit_records = s.store == "sqlite-per-record" ? 1U : 1024U})},
          server{io, bus, options(), domain.http_routes} {
        server.start();
        io.start();
    }
    ~local_server() {
        (void)bus.shutdown(std::chrono::seconds{10});
        server.stop();
        io.stop();
    }

    static cascade::bus_options bus_options(const gateway_settings& s, bool bus_on_io, gateway::io_pool& io) {
        cascade::bus_options o{.threads = bus_on_io ? 1 : s.bus_threads};
        if (bus_on_io) {
            o.executor = io.first();
        }
        return o;
    }
    local_server(const local_server&) = delete;
    local_server& operator=(const local_server&) = delete;

    /// A free port, default limits.
    static gateway::server_options options() {
        gateway::server_options o;
        o.port = 0;
        return o;
    }

    gateway::io_pool io;
    cascade::bus bus;
    cascade_server::app_domain domain;
    gateway::server server;
};

/// What one load run measured.
struct load_figures {
    connection_stats total;
    double elapsed = 0;      ///< seconds of the measured window
    double cpu_seconds = 0;  ///< CPU time this process spent in the window, on all its threads
};

/// The server's address, looked up once.
tcp::endpoint resolve(const target& where) {
    net::io_context ioc;
    return *tcp::resolver{ioc}.resolve(where.host, where.port).begin();
}

/// Sets the batches up, then drives the load against the server for the configured time.
load_figures apply_load(const gateway_settings& s, const target& where, const tcp::endpoint& endpoint) {
    shared_run run;
    run.nonce = std::to_string(std::random_device{}());
    for (std::size_t i = 0; i < s.skus; ++i) {
        run.skus.push_back("SKU-" + run.nonce + "-" + std::to_string(i));
    }

    std::mutex failure_mutex;
    std::exception_ptr failure;
    auto record_failure = [&](std::exception_ptr e) {
        const std::scoped_lock lock{failure_mutex};
        if (e && !failure) {
            failure = e;
        }
    };

    {
        net::io_context setup;
        net::co_spawn(setup, set_up(endpoint, where, run), record_failure);
        setup.run();
    }
    if (failure) {
        std::rethrow_exception(failure);
    }

    // Threaded as cascade-server is: a context per thread, connections round robin, no strands.
    gateway::io_pool pool{s.client_threads};
    std::vector<connection_stats> stats(s.connections);
    for (std::size_t i = 0; i < s.connections; ++i) {
        net::co_spawn(pool.next(), drive(endpoint, where, i, s, run, stats[i]), record_failure);
    }
    const auto started = clock::now();
    const double cpu_at_start = process_cpu_seconds();
    net::steady_timer window{pool.first(),
                             std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(s.seconds))};
    load_figures figures;
    window.async_wait([&](const boost::system::error_code&) {
        figures.elapsed = std::chrono::duration<double>(clock::now() - started).count();
        figures.cpu_seconds = process_cpu_seconds() - cpu_at_start;
        run.stopping = true;
    });
    pool.start();
    pool.join_when_idle();
    if (failure) {
        std::rethrow_exception(failure);
    }
    for (auto& c : stats) {
        figures.total.done += c.done;
        figures.total.events += c.events;
        figures.total.failed += c.failed;
        figures.total.refused += c.refused;
        figures.total.latency.merge(c.latency);
    }
    return figures;
}

/// `process` names what ran in this process during the load (the CPU rows cover all of it).
void print_figures(load_figures& f, std::string_view process) {
    auto& total = f.total;
    print_row("submits done", format_rate(static_cast<double>(total.done) / f.elapsed));
    print_row("streamed events", format_rate(static_cast<double>(total.events) / f.elapsed));
    print_row("latency p50 (submit to done)", format_duration(total.latency.percentile(0.50)));
    print_row("latency p99", format_duration(total.latency.percentile(0.99)));
    print_row("latency p99.9", format_duration(total.latency.percentile(0.999)));
    print_row("failed / refused", std::to_string(total.failed) + " / " + std::to_string(total.refused));
    // Where throughput stops: how many of the machine's cores the run kept busy, and what one
    // submit cost them.
    const auto per_submit = std::chrono::duration<double>(f.cpu_seconds / static_cast<double>(total.done));
    print_row(fmt::format("CPU per submit ({})", process),
              total.done == 0 ? std::string{"n/a"}
                              : format_duration(std::chrono::duration_cast<std::chrono::nanoseconds>(per_submit)));
    print_row(fmt::format("cores busy ({})", process), fmt::format("{:.2f}", f.cpu_seconds / f.elapsed));
}

/// Runs the load against `url` and prints its figures; `local` is the in-process server, if any.
/// Returns the submits done per second.
double measure(const gateway_settings& s, const std::string& url, const local_server* local) {
    const auto where = parse_url(url);
    const auto endpoint = resolve(where);
    auto figures = apply_load(s, where, endpoint);
    print_figures(figures, local != nullptr ? "client and server" : "client");
    const double server_mib = server_peak_mib(endpoint);
    print_row(
        local != nullptr ? "peak memory (server and client, one process)" : "server peak memory",
        server_mib < 0 ? std::string{"n/a (no /metrics)"} : std::to_string(static_cast<int>(server_mib)) + " MiB");
    return static_cast<double>(figures.total.done) / figures.elapsed;
}

/// What a store setting means, for the run's heading.
[[nodiscard]] std::string describe_store(const std::string& store) {
    if (store == "sqlite") {
        return "sqlite store, durable (group commit)";
    }
    if (store == "sqlite-per-record") {
        return "sqlite store, durable, one journal commit per record";
    }
    return "memory store, not durable";
}

/// One run against an in-process server, its bus on threads of its own or on the I/O thread;
/// returns the submits done per second.
double measure_local(const gateway_settings& s, bool bus_on_io) {
    const auto db = std::filesystem::temp_directory_path() / ("cascade-bench-" + std::to_string(::getpid()) + ".db");
    double rate = 0;
    {
        const local_server local{s, db, bus_on_io};
        const auto url = "ws://127.0.0.1:" + std::to_string(local.server.port()) + "/ws";
        const auto store = describe_store(s.store);
        if (bus_on_io) {
            std::printf(
                "  bus on the first I/O thread (--bus-executor io): %s, %zu I/O thread(s); client %zu "
                "thread(s)\n",
                store.c_str(), s.server_threads, s.client_threads);
        } else {
            std::printf(
                "  bus on %zu thread(s) of its own (--bus-executor pool): %s, %zu I/O thread(s); "
                "client %zu thread(s)\n",
                s.bus_threads, store.c_str(), s.server_threads, s.client_threads);
        }
        rate = measure(s, url, &local);
    }
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm"}) {
        std::filesystem::remove(db.string() + suffix, ignored);
    }
    return rate;
}

int run_gateway(gateway_settings s) {
    if (s.bus_threads == 0) {
        s.bus_threads = gateway::default_bus_threads(s.server_threads);
    }
    spdlog::set_level(spdlog::level::warn);
    std::printf("gateway: %zu connections x %zu submits in flight, %.1f s, AllocationRequired over %zu SKUs\n",
                s.connections, s.inflight, s.seconds, s.skus);
    if (!s.url.empty()) {
        std::printf("  server at %s; client %zu thread(s)\n", s.url.c_str(), s.client_threads);
        measure(s, s.url, nullptr);
        return 0;  // a server elsewhere is not compared with canned replies here: they share no machine
    }
    std::printf("cascade-server in-process\n");
    const std::vector<std::string> stores =
        s.store == "all" ? std::vector<std::string>{"memory", "sqlite", "sqlite-per-record"} : std::vector{s.store};
    std::map<std::string, double> pool_rates;
    for (const auto& store : stores) {
        auto run = s;
        run.store = store;
        if (s.bus_executor != "io") {
            pool_rates[store] = measure_local(run, false);
        }
        if (s.bus_executor != "pool") {
            (void)measure_local(run, true);
        }
    }
    if (pool_rates.contains("memory") && pool_rates.contains("sqlite") && pool_rates["memory"] > 0) {
        print_row("durable (group commit) / memory, bus on its own thread",
                  fmt::format("{:.2f}x", pool_rates["sqlite"] / pool_rates["memory"]));
    }
    if (s.baseline) {
        const transport_baseline baseline{s.server_threads};
        std::printf("baseline: the same load against canned replies (%zu I/O thread(s); no bus, no domain, no JSON)\n",
                    s.server_threads);
        const target canned{.host = "127.0.0.1", .port = std::to_string(baseline.port()), .path = "/ws"};
        auto floor = apply_load(s, canned, resolve(canned));
        print_figures(floor, "client and canned server");
    }
    return 0;
}

gateway_settings& settings() {
    static gateway_settings s;
    return s;
}

}  // namespace

void add_gateway_scenario(CLI::App& app) {
    auto& s = settings();
    auto* cmd = app.add_subcommand("gateway", "WebSocket gateway: submits and streamed events per second, latency");
    cmd->add_option("--connections", s.connections, "WebSocket connections")->capture_default_str();
    cmd->add_option("--inflight", s.inflight, "submits in flight per connection")->capture_default_str();
    cmd->add_option("--seconds", s.seconds, "length of the measured run")->capture_default_str();
    cmd->add_option("--url", s.url, "a running protocol-v1 server (ws://HOST:PORT/ws); default: start one in-process");
    cmd->add_option("--store", s.store,
                    "store of the in-process server: memory, sqlite (durable, group commit), sqlite-per-record "
                    "(durable, one journal commit per record) or all, one run each")
        ->capture_default_str()
        ->check(CLI::IsMember({"memory", "sqlite", "sqlite-per-record", "all"}));
    cmd->add_option("--server-threads", s.server_threads, "I/O threads of the in-process server")
        ->capture_default_str();
    cmd->add_option("--bus-threads", s.bus_threads,
                    "bus threads of the in-process server; 0: the cores its I/O threads leave, at least 1")
        ->capture_default_str();
    cmd->add_option("--bus-executor", s.bus_executor,
                    "where the in-process server's bus runs: pool (threads of its own), io (the first I/O thread) "
                    "or both, one run each")
        ->capture_default_str()
        ->check(CLI::IsMember({"pool", "io", "both"}));
    cmd->add_option("--client-threads", s.client_threads, "threads of the load client")->capture_default_str();
    cmd->add_option("--skus", s.skus, "distinct SKUs (one lane each)")->capture_default_str();
    cmd->add_flag("!--no-baseline", s.baseline,
                  "skip the run against canned replies (the transport alone; never run with --url)");
    cmd->callback([&s] {
        try {
            (void)run_gateway(s);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "gateway scenario failed: %s\n", e.what());
            throw CLI::RuntimeError{1};
        }
    });
}

}  // namespace cascade::bench
