#pragma once
// The web console's files, embedded in the binary (console_assets.cpp is generated from
// server/console by embed.cmake), and the replies that serve them.

#include "gateway/http_router.hpp"

#include <span>
#include <string_view>

namespace gateway {

/// One file of the console.
struct console_asset {
    std::string_view path;  ///< where it is served, "/console/…"
    std::string_view content_type;
    std::string_view body;
};

/// Every file of the console.
[[nodiscard]] std::span<const console_asset> console_assets() noexcept;

/// The console file served at `path` ("/" is the page itself); nullptr when none is.
[[nodiscard]] const console_asset* find_console_asset(std::string_view path) noexcept;

/// The reply serving `asset`.
[[nodiscard]] http_reply console_reply(const console_asset& asset);

}  // namespace gateway
