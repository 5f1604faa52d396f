#pragma once
// Who sends a request, as the gateway knows it: anyone, on a server without authentication, or
// the holder of a verified token.

#include "gateway/permissions.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace gateway {

struct caller {
    /// Anyone, on a server without authentication: anonymous, and allowed everything.
    [[nodiscard]] static caller anyone() {
        return {.principal = {}, .grants = permissions::everything(), .expires_at = {}};
    }

    /// The token's `sub`; empty for an anonymous caller. Recorded on the envelopes it submits.
    std::string principal;
    /// What the caller may do; nothing unless granted (a caller made without thought fails closed).
    permissions grants;
    /// The token's `exp`: a WebSocket session ends then. std::nullopt: never.
    std::optional<std::chrono::sys_seconds> expires_at;
};

}  // namespace gateway
