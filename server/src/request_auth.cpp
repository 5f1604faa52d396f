#include "request_auth.hpp"

#include "gateway/http_router.hpp"

#include <algorithm>
#include <cctype>

namespace gateway {
namespace {

[[nodiscard]] bool is_open_route(std::string_view method, std::string_view target) noexcept {
    const auto path = path_of(target);
    // The console's files are public: what it reads and sends is behind the token it asks for.
    // Only their GET: the router keeps / and /console/ for them, so nothing else is opened.
    return path == "/health" || path == "/metrics" ||
           (method == "GET" && (path == "/" || path.starts_with("/console/")));
}

/// Origins compare as ASCII, without case (RFC 6454: scheme and host are case-insensitive).
[[nodiscard]] bool same_origin(std::string_view a, std::string_view b) noexcept {
    return std::ranges::equal(a, b,
                              [](unsigned char x, unsigned char y) { return std::tolower(x) == std::tolower(y); });
}

[[nodiscard]] bool origin_allowed(const auth_options& auth, std::string_view origin) {
    return auth.allowed_origins.empty() || origin.empty() ||
           std::ranges::any_of(auth.allowed_origins,
                               [origin](const std::string& allowed) { return same_origin(allowed, origin); });
}

}  // namespace

auth_verdict authenticate(const auth_options& auth, const request_credentials& request,
                          std::chrono::system_clock::time_point now) {
    if (request.websocket && !origin_allowed(auth, request.origin)) {
        return auth_failure{.status = 403,
                            .code = protocol::refusal::forbidden,
                            .message = "Origin '" + std::string{request.origin} + "' is not allowed here"};
    }
    if (!auth.tokens) {
        return caller::anyone();
    }
    if (!request.websocket && is_open_route(request.method, request.target)) {
        return caller{};  // may do nothing: these routes submit nothing
    }
    std::string token{bearer_token(request.authorization)};
    if (token.empty() && request.websocket) {
        token = query_token(request.target);
    }
    if (token.empty()) {
        return auth_failure{.status = 401,
                            .code = protocol::refusal::unauthorized,
                            .message = request.websocket ? "a token is required: Authorization: Bearer, or ?token="
                                                         : "a token is required: Authorization: Bearer"};
    }
    auto verdict = auth.tokens->verify(token, now);
    if (auto* refused = std::get_if<token_refusal>(&verdict)) {
        return auth_failure{
            .status = 401, .code = protocol::refusal::unauthorized, .message = std::move(refused->message)};
    }
    return std::get<caller>(std::move(verdict));
}

}  // namespace gateway
