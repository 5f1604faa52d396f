#pragma once
// Protocol v1 of the gateway: parsing the frames a client sends and formatting the frames the
// server sends. One JSON object per text frame; see server/PROTOCOL.md. No networking here.

#include "cascade/catalog.hpp"
#include "cascade/envelope.hpp"
#include "cascade/outcome.hpp"
#include "cascade/registry.hpp"
#include "gateway/event_log.hpp"
#include "gateway/json_parse.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace gateway::protocol {

/// The version announced in the welcome frame.
inline constexpr int version = 1;

/// Most entries in a subscription's `names` or `aggregates`: a filter is matched per event, so its
/// size is bounded like the number of subscriptions.
inline constexpr std::size_t max_filter_entries = 256;

/// Close codes of our own (RFC 6455 reserves 4000–4999 for applications).
inline constexpr std::uint16_t close_token_expired = 4001;
inline constexpr std::uint16_t close_slow_consumer = 4008;

/// Why a request was refused: the stable `code` of the error frame (the wire strings never change).
enum class refusal : std::uint8_t {
    bad_request,      ///< not JSON, not an object, a missing or mistyped field
    unknown_message,  ///< no message type of that name
    invalid_data,     ///< the message's own fields do not decode
    duplicate_id,     ///< the id is in flight on this connection, or (durable) names another message
    overloaded,       ///< too many submits in flight; retryable
    shutting_down,    ///< the server is draining; retryable
    offset_expired,   ///< a subscription's start is older than the event log keeps
    forbidden,        ///< not from outside the bus (an event the domain raises), or not within the token's claims
    unauthorized,     ///< no valid token where the server requires one (HTTP 401)
    rate_limited,     ///< the connection's submit rate is over its limit; retryable after `retry_after_ms`
    limit_exceeded,   ///< over a configured bound (subscriptions, nesting depth, string length)
    internal,         ///< a bug or an unexpected failure on the server
};

inline constexpr std::array all_refusals{
    refusal::bad_request,  refusal::unknown_message, refusal::invalid_data,   refusal::duplicate_id,
    refusal::overloaded,   refusal::shutting_down,   refusal::offset_expired, refusal::forbidden,
    refusal::unauthorized, refusal::rate_limited,    refusal::limit_exceeded, refusal::internal,
};

[[nodiscard]] constexpr std::string_view to_string(refusal code) noexcept {
    switch (code) {
        case refusal::bad_request:
            return "bad_request";
        case refusal::unknown_message:
            return "unknown_message";
        case refusal::invalid_data:
            return "invalid_data";
        case refusal::duplicate_id:
            return "duplicate_id";
        case refusal::overloaded:
            return "overloaded";
        case refusal::shutting_down:
            return "shutting_down";
        case refusal::offset_expired:
            return "offset_expired";
        case refusal::forbidden:
            return "forbidden";
        case refusal::unauthorized:
            return "unauthorized";
        case refusal::rate_limited:
            return "rate_limited";
        case refusal::limit_exceeded:
            return "limit_exceeded";
        case refusal::internal:
            return "internal";
    }
    return "internal";
}

/// Whether the same request may succeed if the client simply sends it again later.
[[nodiscard]] constexpr bool retryable(refusal code) noexcept {
    return code == refusal::overloaded || code == refusal::shutting_down || code == refusal::rate_limited;
}

/// The refusal that a registry decode failure maps to.
[[nodiscard]] constexpr refusal from_decode(cascade::decode_errc code) noexcept {
    switch (code) {
        case cascade::decode_errc::unknown_message:
            return refusal::unknown_message;
        case cascade::decode_errc::not_from_edge:
            return refusal::forbidden;
        case cascade::decode_errc::invalid_data:
            break;
    }
    return refusal::invalid_data;
}

// ---- requests (client to server) ----

struct submit_request {
    std::string id;
    std::string name;
    nlohmann::json data;  ///< always an object
};

struct subscribe_request {
    std::string id;
    std::vector<std::string> names;       ///< empty: any name
    std::vector<std::string> aggregates;  ///< empty: any aggregate
    log_start start;                      ///< `from_seq` (with `epoch`) or `from: "earliest"`
};

struct unsubscribe_request {
    std::string id;
    std::string sub;  ///< the id of the subscribe request
};

struct ping_request {
    std::string id;
};

/// Asks for the catalog: every message the server knows.
struct catalog_request {
    std::string id;
};

/// A frame that could not be understood; `re` is set when the frame had a usable id.
struct request_error {
    refusal code = refusal::bad_request;
    std::string message;
    std::optional<std::string> re;
};

using request = std::variant<submit_request, subscribe_request, unsubscribe_request, ping_request, catalog_request>;
using parse_result = std::variant<request, request_error>;

/// Parses one text frame. Never throws for bad input: every problem becomes a request_error
/// whose message names the offending field (limit_exceeded when the frame is over `limits`).
[[nodiscard]] parse_result parse_request(std::string_view text, const json_limits& limits = {});

/// The id of any request.
[[nodiscard]] const std::string& id_of(const request& req) noexcept;

// ---- frames (server to client) ----

/// The limits announced in the welcome frame.
struct announced_limits {
    std::size_t max_frame_bytes{};
    std::size_t max_in_flight{};
    std::size_t max_queued_frames{};
    std::size_t max_queued_bytes{};
    std::size_t max_subscriptions{};
    double submit_rate{};  ///< submits a second per connection; 0: no limit
};

/// What the welcome frame says of the server.
struct announced_server {
    bool durable = false;  ///< an ack means the submit is in the journal; ids are idempotency keys
    std::uint64_t log_epoch = 0;
    std::uint64_t last_seq = 0;                          ///< the event log's newest seq when the session began
    std::string_view principal;                          ///< the token's `sub`; left out when empty (no auth)
    std::optional<std::chrono::sys_seconds> expires_at;  ///< the token's `exp`, when it has one
};

[[nodiscard]] std::string welcome_frame(std::string_view session, const announced_limits& limits,
                                        const announced_server& server);
/// `replay`: the id was known; what follows is its recorded cascade, nothing runs again.
[[nodiscard]] std::string ack_frame(std::string_view re, cascade::message_id id, bool replay = false);
/// One resulting event of the submit `re`, the n-th (from 1), around its serialised object;
/// `seq` is its number in the event log, 0 (left out) for a replayed cascade's event.
[[nodiscard]] std::string event_frame(std::string_view re, std::uint64_t n, std::uint64_t seq,
                                      std::string_view event_body);
[[nodiscard]] std::string done_frame(std::string_view re, const cascade::outcome& outcome);
/// `re` empty means the frame had no usable id, so the error carries none.
[[nodiscard]] std::string error_frame(std::string_view re, refusal code, std::string_view message);
/// A submit over the connection's rate: the error, with how long until one would be taken.
[[nodiscard]] std::string rate_limited_frame(std::string_view re, std::string_view message,
                                             std::chrono::milliseconds retry_after);
/// A subscription joined: its events follow from `start_seq` of the log `epoch`.
/// `names`: the names the subscription is filtered by (left out when it takes every name).
[[nodiscard]] std::string subscribed_frame(std::string_view re, std::uint64_t epoch, std::uint64_t start_seq,
                                           const std::vector<std::string>& names = {});
/// A subscription's start is not in the event log: the error, with where the log stands.
[[nodiscard]] std::string offset_error_frame(std::string_view re, refusal code, std::string_view message,
                                             std::uint64_t epoch, std::uint64_t oldest_seq, std::uint64_t last_seq);
[[nodiscard]] std::string unsubscribed_frame(std::string_view re, std::string_view sub);
[[nodiscard]] std::string pong_frame(std::string_view re);
/// Every message the bus knows, by name: [{"name", "kind", "from_edge", "aggregate", "handlers",
/// "schema"}], where "aggregate" names the field holding the aggregate key (null when the type does
/// not describe its fields) and "schema" is the JSON Schema of its data. What GET /catalog
/// answers and the catalog frame carries.
[[nodiscard]] nlohmann::json catalog_entries(const std::vector<cascade::catalog_entry>& catalog);
[[nodiscard]] std::string catalog_frame(std::string_view re, const std::vector<cascade::catalog_entry>& catalog);
[[nodiscard]] std::string disconnect_frame(std::uint16_t code, std::string_view reason);

/// The event object of the wire form, serialised once so that every subscriber shares it.
[[nodiscard]] std::string event_body(const cascade::envelope& event);
/// A feed frame for subscription `sub` around an already serialised event object.
[[nodiscard]] std::string feed_event_frame(std::string_view sub, std::uint64_t seq, std::string_view event_body);

/// Serialises JSON for the wire; invalid UTF-8 in strings is replaced rather than thrown on.
[[nodiscard]] std::string dump(const nlohmann::json& value);
[[nodiscard]] std::string dump(const nlohmann::ordered_json& value);

}  // namespace gateway::protocol
