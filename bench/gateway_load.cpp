// The gateway scenario's load client. The client's own CPU time is taken from the server it
// measures, so its hot path (frame building and classifying) is spelled out for speed.
#include "gateway_load.hpp"

#include "gateway/coalescing_stream.hpp"
#include "gateway/io_pool.hpp"
#include "progress.hpp"
#include "thread_cpu.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>
#include <simdjson.h>

#include <atomic>
#include <charconv>
#include <cstdio>
#include <mutex>
#include <random>
#include <stdexcept>
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

namespace {

/// The client's streams buffer writes the way the server's do, so the client is not the bottleneck.
using client_stream = websocket::stream<gateway::coalescing_stream<beast::tcp_stream>, false>;

struct shared_run {
    std::atomic<bool> stopping{false};
    std::atomic<std::uint64_t> done{0};  ///< submits done in the window, for the progress line only
    std::string nonce;                   ///< keeps order ids and batch refs unique across runs against one server
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

/// How a connection's writes leave.
enum class flushing : std::uint8_t {
    when_reading,  ///< with the next read: for a client that only writes in answer to a read
    at_once,       ///< after one turn of the event loop: for writes made while a read is pending
};

net::awaitable<void> open(client_stream& ws, const tcp::endpoint& endpoint, const target& where,
                          flushing flush = flushing::when_reading) {
    if (flush == flushing::when_reading) {
        ws.next_layer().flush_when_reading();
    }
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

/// The submits one connection sends: AllocationRequired for a random SKU, ids in sequence.
class submit_frames {
public:
    submit_frames(const shared_run& run, std::size_t index)
        : run_{run},
          rng_{index},
          pick_{0, run.skus.size() - 1},
          // Unique across connections and runs: on a durable server an id is an idempotency key.
          order_prefix_{"o-" + run.nonce + "-" + std::to_string(index) + "-"},
          id_prefix_{run.nonce + "-" + std::to_string(index) + "-"} {}

    /// The next submit's id.
    [[nodiscard]] std::uint64_t next_id() const noexcept { return seq_; }

    /// The next submit's frame, valid until the next call.
    [[nodiscard]] const std::string& next() {
        // Spelled out rather than built as a document: the load client's own CPU time is taken
        // from the server it measures, and every part of this frame is plain ASCII.
        const auto text = std::to_string(seq_++);
        frame_ = R"({"type":"submit","id":")";
        frame_ += id_prefix_;
        frame_ += text;
        frame_ += R"(","name":"AllocationRequired","data":{"orderid":")";
        frame_ += order_prefix_;
        frame_ += text;
        frame_ += R"(","sku":")";
        frame_ += run_.skus[pick_(rng_)];
        frame_ += R"(","qty":1}})";
        return frame_;
    }

private:
    const shared_run& run_;
    std::mt19937_64 rng_;
    std::uniform_int_distribution<std::size_t> pick_;
    std::string order_prefix_;
    std::string id_prefix_;
    std::uint64_t seq_ = 0;
    std::string frame_;
};

/// Submits sent and not answered yet, by id, with the time their latency counts from.
using pending_submits = std::unordered_map<std::uint64_t, clock::time_point>;

/// Sends the next submit, its latency counting from `since`.
net::awaitable<void> send_submit(client_stream& ws, submit_frames& frames, pending_submits& pending,
                                 clock::time_point since) {
    pending.emplace(frames.next_id(), since);
    co_await ws.async_write(net::buffer(frames.next()), net::use_awaitable);
}

/// Counts one frame from the server; true when it ended a submit (done, or an error frame).
bool record_reply(std::string_view text, pending_submits& pending, shared_run& run, connection_stats& stats) {
    const auto info = classify(text);
    const bool measuring = !run.stopping.load(std::memory_order_relaxed);
    if (info.type == "event") {
        stats.events += measuring ? 1 : 0;
        return false;
    }
    if (info.type != "done" && info.type != "error") {
        return false;  // ack
    }
    const auto it = pending.find(parse_seq(info.re));
    if (it == pending.end()) {
        return false;
    }
    stats.latency.add(clock::now() - it->second);
    pending.erase(it);
    if (info.type == "error") {
        ++stats.refused;
    } else if (info.status == "failed") {
        ++stats.failed;
    }
    if (measuring) {
        ++stats.done;
        run.done.fetch_add(1, std::memory_order_relaxed);
    }
    return true;
}

/// One connection, closed loop: W AllocationRequired in flight until the run stops, then drains
/// its window.
net::awaitable<void> drive(tcp::endpoint endpoint, target where, std::size_t index, const gateway_settings& s,
                           shared_run& run, connection_stats& stats) {
    client_stream ws{co_await net::this_coro::executor};
    co_await open(ws, endpoint, where);
    submit_frames frames{run, index};
    pending_submits pending;
    for (std::size_t i = 0; i < s.inflight; ++i) {
        co_await send_submit(ws, frames, pending, clock::now());
    }
    beast::flat_buffer buffer;
    while (!pending.empty()) {
        co_await ws.async_read(buffer, net::use_awaitable);
        const bool ended =
            record_reply({static_cast<const char*>(buffer.cdata().data()), buffer.size()}, pending, run, stats);
        buffer.consume(buffer.size());
        if (ended && !run.stopping.load(std::memory_order_relaxed)) {
            co_await send_submit(ws, frames, pending, clock::now());
        }
    }
    co_await ws.async_close(websocket::close_code::normal, net::use_awaitable);
}

/// One connection, open loop: rate / connections submits per second, each at its planned time,
/// or as soon after it as the cap of `inflight` unanswered submits allows. Latency counts from
/// the planned time, so a server that falls behind shows as queueing (no coordinated omission).
net::awaitable<void> drive_paced(tcp::endpoint endpoint, target where, std::size_t index, const gateway_settings& s,
                                 shared_run& run, connection_stats& stats) {
    const auto executor = co_await net::this_coro::executor;
    client_stream ws{executor};
    co_await open(ws, endpoint, where, flushing::at_once);  // it sends while a read is pending
    submit_frames frames{run, index};
    pending_submits pending;
    net::steady_timer schedule{executor};
    net::steady_timer room{executor};  // the reader cancels it when a submit ends
    const auto wait_for_room = [&room]() -> net::awaitable<void> {
        room.expires_at(clock::time_point::max());
        (void)co_await room.async_wait(net::as_tuple(net::use_awaitable));
    };

    const auto send = [&]() -> net::awaitable<void> {
        const auto interval = std::chrono::duration<double>(static_cast<double>(s.connections) / s.rate);
        // Connections start staggered, so their sends interleave rather than come in bursts.
        const auto first = clock::now() + std::chrono::duration_cast<clock::duration>(
                                              std::chrono::duration<double>(static_cast<double>(index) / s.rate));
        for (std::uint64_t k = 0;; ++k) {
            const auto planned = first + std::chrono::duration_cast<clock::duration>(interval * static_cast<double>(k));
            schedule.expires_at(planned);
            co_await schedule.async_wait(net::use_awaitable);
            while (pending.size() >= s.inflight && !run.stopping.load(std::memory_order_relaxed)) {
                co_await wait_for_room();
            }
            if (run.stopping.load(std::memory_order_relaxed)) {
                break;
            }
            co_await send_submit(ws, frames, pending, planned);
        }
        while (!pending.empty()) {
            co_await wait_for_room();
        }
        // The reader's pending read sees the server's answer and ends with error::closed; this
        // close then ends with operation_aborted (Beast gives the error to the first operation),
        // which is not a failure.
        const auto [ec] = co_await ws.async_close(websocket::close_code::normal, net::as_tuple(net::use_awaitable));
        if (ec && ec != net::error::operation_aborted && ec != websocket::error::closed) {
            throw boost::system::system_error{ec};
        }
    };

    const auto receive = [&]() -> net::awaitable<void> {
        beast::flat_buffer buffer;
        for (;;) {
            const auto [ec, n] = co_await ws.async_read(buffer, net::as_tuple(net::use_awaitable));
            if (ec == websocket::error::closed || ec == net::error::operation_aborted) {
                co_return;  // the close that the sender started
            }
            if (ec) {
                throw boost::system::system_error{ec};
            }
            if (record_reply({static_cast<const char*>(buffer.cdata().data()), buffer.size()}, pending, run, stats)) {
                room.cancel();
            }
            buffer.consume(buffer.size());
        }
    };

    using namespace net::experimental::awaitable_operators;
    co_await (send() && receive());
}

}  // namespace

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

/// The server's address, looked up once.
tcp::endpoint resolve(const target& where) {
    net::io_context ioc;
    return *tcp::resolver{ioc}.resolve(where.host, where.port).begin();
}

/// Sets the batches up, then drives the load against the server for the configured time.
load_figures apply_load(const gateway_settings& s, const target& where, const tcp::endpoint& endpoint,
                        const thread_cpu_clocks* server_threads) {
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
        net::co_spawn(pool.next(),
                      s.open_loop() ? drive_paced(endpoint, where, i, s, run, stats[i])
                                    : drive(endpoint, where, i, s, run, stats[i]),
                      record_failure);
    }
    const auto started = clock::now();
    const double cpu_at_start = process_cpu_seconds();
    const double server_cpu_at_start = server_threads != nullptr ? server_threads->seconds() : 0;
    net::steady_timer window{pool.first(),
                             std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(s.seconds))};
    load_figures figures;
    figures.target_rate = s.rate;
    window.async_wait([&](const boost::system::error_code&) {
        figures.elapsed = std::chrono::duration<double>(clock::now() - started).count();
        figures.cpu_seconds = process_cpu_seconds() - cpu_at_start;
        if (server_threads != nullptr) {
            figures.server_cpu_seconds = server_threads->seconds() - server_cpu_at_start;
            figures.server_threads = server_threads->size();
        }
        run.stopping = true;
    });
    {
        const progress_line progress{"gateway", "submits", [&run] { return run.done.load(std::memory_order_relaxed); }};
        pool.start();
        pool.join_when_idle();
    }
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

}  // namespace cascade::bench
