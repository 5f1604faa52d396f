#pragma once
// Shared by the gateway tests: a tiny test domain, a fixture that runs a server in-process on an
// ephemeral port, and real Beast clients (WebSocket and HTTP) behind a Beast-free interface, so
// that only support.cpp and clients.cpp pay for compiling Beast.

#include "allocation_domain.hpp"
#include "gateway/io_pool.hpp"
#include "gateway/server.hpp"

#include <cascade/bus.hpp>

#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace server_test {

using json = nlohmann::json;
using cascade::message_kind;

/// An upper bound for every wait (a read, a drain); never a timing claim.
inline constexpr std::chrono::seconds generous{60};

/// Polls `done()` until it holds; false if it still does not after `generous`.
[[nodiscard]] bool eventually_true(const std::function<bool()>& done);

/// first, first + 1, ..., last: the seqs a reader should have seen.
[[nodiscard]] inline std::vector<std::uint64_t> seq_range(std::uint64_t first, std::uint64_t last) {
    std::vector<std::uint64_t> seqs;
    for (auto seq = first; seq <= last; ++seq) {
        seqs.push_back(seq);
    }
    return seqs;
}

// ---- the test domain ----

/// Command: raises `events` Touched events (seq 1..events); its result is the key.
struct touch {
    static constexpr std::string_view name = "Touch";
    static constexpr message_kind kind = message_kind::command;
    std::string key;
    int events{};
    [[nodiscard]] std::string_view aggregate() const noexcept { return key; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(touch, key, events)

/// Event raised by Touch; nobody handles it.
struct touched {
    static constexpr std::string_view name = "Touched";
    static constexpr message_kind kind = message_kind::event;
    std::string key;
    int seq{};
    [[nodiscard]] std::string_view aggregate() const noexcept { return key; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(touched, key, seq)

/// Command whose handler throws std::runtime_error(reason): the cascade fails.
struct refuse {
    static constexpr std::string_view name = "Refuse";
    static constexpr message_kind kind = message_kind::command;
    std::string key;
    std::string reason;
    [[nodiscard]] std::string_view aggregate() const noexcept { return key; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(refuse, key, reason)

/// Command that raises one Broken event, whose handler always throws: the cascade is partial.
struct stumble {
    static constexpr std::string_view name = "Stumble";
    static constexpr message_kind kind = message_kind::command;
    std::string key;
    [[nodiscard]] std::string_view aggregate() const noexcept { return key; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(stumble, key)

struct broken {
    static constexpr std::string_view name = "Broken";
    static constexpr message_kind kind = message_kind::event;
    std::string key;
    [[nodiscard]] std::string_view aggregate() const noexcept { return key; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(broken, key)

/// Command whose handler waits until the test opens the gate, then raises one Touched.
struct hold {
    static constexpr std::string_view name = "Hold";
    static constexpr message_kind kind = message_kind::command;
    std::string key;
    [[nodiscard]] std::string_view aggregate() const noexcept { return key; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(hold, key)

/// Command that succeeds at once (its result is the key) and raises one Lingered, whose handler
/// waits on the same gate as Hold: a cascade whose command is done while the cascade is not.
struct linger {
    static constexpr std::string_view name = "Linger";
    static constexpr message_kind kind = message_kind::command;
    std::string key;
    [[nodiscard]] std::string_view aggregate() const noexcept { return key; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(linger, key)

struct lingered {
    static constexpr std::string_view name = "Lingered";
    static constexpr message_kind kind = message_kind::event;
    std::string key;
    [[nodiscard]] std::string_view aggregate() const noexcept { return key; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(lingered, key)

/// A message whose decoder has a bug (throws std::logic_error): the gateway answers `internal`.
struct explode {
    static constexpr std::string_view name = "Explode";
    static constexpr message_kind kind = message_kind::command;
    std::string key;
    [[nodiscard]] std::string_view aggregate() const noexcept { return key; }
};
inline void to_json(json& j, const explode& m) {
    j = json{{"key", m.key}};
}
inline void from_json(const json& /*j*/, explode& /*m*/) {
    throw std::logic_error{"a decoder with a bug"};
}

/// What Hold waits on: closed once by the test, after which every wait returns at once.
/// Its channel lives in an io_context of its own (never run: completions go to the waiting
/// handler's executor), because the bus destroys its dependencies after its thread pool.
class gate {
public:
    gate() = default;
    void open() { channel_.close(); }
    [[nodiscard]] boost::asio::awaitable<void> wait();

private:
    boost::asio::io_context context_;
    boost::asio::experimental::concurrent_channel<void(boost::system::error_code)> channel_{context_, 0};
};

/// Registers the test domain on `bus`; the gate is Hold's.
std::shared_ptr<gate> install_test_domain(cascade::bus& bus);

// ---- the server under test ----

/// Port 0, default limits.
[[nodiscard]] gateway::server_options test_options();

/// I/O threads of the fixture's server: more than one, so the sanitizers see the real concurrency.
inline constexpr std::size_t test_io_threads = 2;

/// Wires an extra domain (the book's) onto the bus before the server starts.
using domain_loader = std::function<cascade_server::app_domain(cascade::bus&)>;

/// A bus with the test domain and a started server on I/O threads of its own; stops all three, in
/// the safe order, at the end.
struct fixture {
    /// Where the bus runs: threads of its own, or the server's first I/O context.
    enum class bus_placement : std::uint8_t { own_pool, io_context };

    explicit fixture(gateway::server_options options = test_options(), const domain_loader& load = {},
                     bus_placement placement = bus_placement::own_pool);
    ~fixture();
    fixture(const fixture&) = delete;
    fixture& operator=(const fixture&) = delete;

    [[nodiscard]] std::uint16_t port() const noexcept { return server.port(); }

    gateway::io_pool io;
    cascade::bus bus;
    std::shared_ptr<gate> hold_gate;
    cascade_server::app_domain domain;
    gateway::server server;
};

// ---- a WebSocket client (Beast) ----

struct close_info {
    std::uint16_t code = 0;
    std::string reason;
};

/// One read: a frame, or how the connection ended.
struct read_result {
    std::optional<json> frame;
    std::optional<close_info> closed;  ///< set when the server closed with a close frame
    std::string error;                 ///< set for any other end (timeout, reset, ...)
};

/// Header fields a test adds to a request (Authorization, Origin, ...).
using header_fields = std::vector<std::pair<std::string, std::string>>;

/// How a ws_client upgrades.
struct upgrade_options {
    std::string target = "/ws";
    header_fields fields;
    std::size_t receive_buffer = 0;  ///< SO_RCVBUF; 0: the system's default
};

class ws_client {
public:
    /// Connects and reads the welcome frame. `receive_buffer` sets SO_RCVBUF (0: the default).
    explicit ws_client(std::uint16_t port, std::size_t receive_buffer = 0);
    /// Connects with `options` (a target with a query, header fields) and reads the welcome frame;
    /// std::runtime_error when the upgrade is refused.
    ws_client(std::uint16_t port, const upgrade_options& options);
    ~ws_client();
    ws_client(const ws_client&) = delete;
    ws_client& operator=(const ws_client&) = delete;

    [[nodiscard]] const json& welcome() const noexcept { return welcome_; }

    /// Sends `text` as it is, in a text frame.
    void send_text(std::string_view text);
    /// Sends one JSON value in a text frame.
    void send(const json& frame) { send_text(frame.dump()); }
    void send_binary(std::string_view bytes);

    /// The next frame or the end of the connection, within `timeout`.
    [[nodiscard]] read_result read_any(std::chrono::milliseconds timeout = generous);
    /// The next frame; throws std::runtime_error when the connection ends instead.
    [[nodiscard]] json read(std::chrono::milliseconds timeout = generous);
    /// Reads (and keeps in `frames`, if given) until the server closes; throws on other ends.
    [[nodiscard]] close_info read_until_closed(std::vector<json>* frames = nullptr,
                                               std::chrono::milliseconds timeout = generous);
    /// Sends a close frame (1000) and reads until the server answers it.
    void close();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
    json welcome_;
};

/// Sends {"type":"submit"} and reads its frames up to the terminal one (error or done), which is
/// the last element; nothing else may arrive in between.
[[nodiscard]] std::vector<json> submit_and_collect(ws_client& client, const std::string& id, std::string_view name,
                                                   const json& data);

// ---- many clients at once ----

struct load_report {
    std::size_t acks = 0;
    std::size_t events = 0;
    std::size_t dones = 0;
    std::size_t errors = 0;
    std::vector<std::string> problems;  ///< the first few protocol violations seen
};

/// `clients` connections, each sending `submits` Touch submits (events = i % 3) with at most
/// `window` in flight, all on one client thread; checks every frame sequence as it goes.
[[nodiscard]] load_report run_load(std::uint16_t port, std::size_t clients, std::size_t submits, std::size_t window);

// ---- an HTTP client (Beast) ----

struct http_result {
    unsigned status = 0;
    std::string content_type;
    std::string www_authenticate;
    std::string body;
    [[nodiscard]] json body_json() const { return json::parse(body); }
};

[[nodiscard]] http_result http_request(std::uint16_t port, std::string_view method, std::string_view target,
                                       std::string_view body = {}, const header_fields& fields = {});
/// A WebSocket upgrade request to `target` with `fields`, answered as HTTP: how the server
/// answers an upgrade it refuses (a 101 has no body).
[[nodiscard]] http_result upgrade_request(std::uint16_t port, std::string_view target, const header_fields& fields);

// ---- TLS (tls_clients.cpp) ----

/// A self-signed certificate for 127.0.0.1 and its key, made with Debian's openssl in `folder`.
struct test_certificate {
    test_certificate(const std::string& folder, const std::string& name);
    std::string certificate;  ///< PEM file: what the client trusts, and the server's chain
    std::string key;          ///< PEM file
};

/// An https request to 127.0.0.1 that trusts `ca` only.
[[nodiscard]] http_result https_request(std::uint16_t port, const std::string& ca, std::string_view method,
                                        std::string_view target, std::string_view body = {});
/// The error of a TLS handshake that offers only `version` (TLS1_VERSION, ...); empty when it succeeds.
[[nodiscard]] std::string tls_handshake_error(std::uint16_t port, const std::string& ca, int version);
/// A wss session that trusts `ca` only: sends `frames`, reads `replies` frames (the welcome
/// first), then closes.
[[nodiscard]] std::vector<json> wss_exchange(std::uint16_t port, const std::string& ca, const std::vector<json>& frames,
                                             std::size_t replies);

// ---- a raw TCP client, for what no well-behaved HTTP client sends ----

struct raw_result {
    std::size_t sent = 0;           ///< bytes the server took before it closed
    std::string received;           ///< everything the server sent
    bool closed_by_server = false;  ///< the server ended the connection (EOF)
    std::string error;              ///< how it ended otherwise (a reset, a timeout)
};

/// Connects, sends `bytes` as they are, and reads until the connection ends (within `generous`).
[[nodiscard]] raw_result raw_exchange(std::uint16_t port, std::string_view bytes);

}  // namespace server_test
