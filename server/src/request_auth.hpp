#pragma once
// Who an HTTP request or a WebSocket upgrade comes from, as the server's auth_options judge it.
// Internal: include only from server/src.

#include "gateway/caller.hpp"
#include "gateway/options.hpp"
#include "gateway/protocol.hpp"

#include <chrono>
#include <string>
#include <string_view>
#include <variant>

namespace gateway {

/// An upgrade or a request refused: its HTTP status (401 or 403), code and message.
struct auth_failure {
    unsigned status = 401;
    protocol::refusal code = protocol::refusal::unauthorized;
    std::string message;
};

using auth_verdict = std::variant<caller, auth_failure>;

/// What a request carries that authenticates it.
struct request_credentials {
    std::string_view method;         ///< "GET", "POST", …
    std::string_view target;         ///< path and query
    std::string_view authorization;  ///< the Authorization header's value
    std::string_view origin;         ///< the Origin header's value (browsers send it)
    bool websocket = false;          ///< a WebSocket upgrade: the token may be `?token=`, the Origin is checked
};

/// The caller of a request: anyone when the server has no tokens; else the holder of the token
/// in `Authorization: Bearer`, or in `?token=` on an upgrade (browsers cannot set headers there).
/// /health, /metrics and a GET of the console's files take no token (an anonymous caller that
/// may do nothing).
[[nodiscard]] auth_verdict authenticate(const auth_options& auth, const request_credentials& request,
                                        std::chrono::system_clock::time_point now);

}  // namespace gateway
