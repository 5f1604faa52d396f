#pragma once
// HTTP routing, apart from the socket: a request in, a reply out. The gateway's own routes
// (/messages, /dead-letters, /catalog, /health, /metrics) plus an optional hook for a domain's routes (the book's).

#include "gateway/caller.hpp"
#include "gateway/json_parse.hpp"
#include "gateway/metrics.hpp"
#include "gateway/submitter.hpp"

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace gateway {

/// One HTTP request as routing sees it.
struct http_call {
    std::string method;  ///< "GET", "POST", ...
    std::string target;  ///< path and query, e.g. "/allocations/o1"
    std::string body;
    json_limits json;  ///< the server's bounds for a JSON body (parse_json)
    caller who;        ///< who sends it (authenticated already when the server takes tokens)
};

/// One HTTP reply.
struct http_reply {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
    /// Header fields beyond Server, Content-Type and Content-Length (WWW-Authenticate of a 401).
    std::vector<std::pair<std::string, std::string>> fields;
};

/// The path of a request target: what comes before its query.
[[nodiscard]] inline std::string_view path_of(std::string_view target) noexcept {
    return target.substr(0, target.find('?'));
}

/// A JSON reply.
[[nodiscard]] http_reply json_reply(unsigned status, const nlohmann::json& body);
/// {"code","message"} with the HTTP status that the error code calls for.
[[nodiscard]] http_reply error_reply(unsigned status, protocol::refusal code, std::string_view message);

/// A domain's routes: std::nullopt means "not mine" (the router answers 404).
using routes = std::function<boost::asio::awaitable<std::optional<http_reply>>(const http_call&, submitter&)>;

class http_router {
public:
    http_router(submitter& submit, gateway_metrics& metrics, routes extra) noexcept
        : submitter_{submit}, metrics_{metrics}, extra_{std::move(extra)} {}

    /// Answers one request; never throws (a failure becomes a 500 with code "internal").
    [[nodiscard]] boost::asio::awaitable<http_reply> handle(http_call call);

private:
    [[nodiscard]] boost::asio::awaitable<http_reply> post_message(const http_call& call);
    /// Retries a dead letter: under auth, only for a caller who may submit its message's name.
    [[nodiscard]] boost::asio::awaitable<http_reply> retry_dead_letter(std::uint64_t letter, const caller& who);
    /// The message name of a dead letter kept; std::nullopt when none is kept under that id.
    [[nodiscard]] std::optional<std::string> letter_name(std::uint64_t letter) const;
    /// GET /dead-letters: the letters whose message the caller may subscribe to.
    [[nodiscard]] http_reply dead_letters(const caller& who) const;
    /// GET /messages/{id}: the caller's submit recorded under the idempotency key, and its outcome.
    [[nodiscard]] http_reply recorded_message(const caller& who, std::string_view key) const;
    /// 503 with overloaded or shutting_down, counted.
    [[nodiscard]] http_reply refused(cascade::admission admission);
    /// GET /catalog: every message the bus knows, by name, with its kind and whether clients may
    /// submit it.
    [[nodiscard]] http_reply catalog() const;
    [[nodiscard]] http_reply health() const;
    [[nodiscard]] http_reply metrics() const;

    submitter& submitter_;
    gateway_metrics& metrics_;
    routes extra_;
};

/// The JSON answer to a finished cascade: {"status","result","events":[...],"errors":[...]}, each
/// event with its `seq` in the event log when `seqs` has one for it.
[[nodiscard]] nlohmann::json outcome_json(const cascade::outcome& outcome,
                                          const std::unordered_map<cascade::message_id, std::uint64_t>& seqs = {});

}  // namespace gateway
