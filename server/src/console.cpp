#include "console_assets.hpp"

#include <algorithm>
#include <string>

namespace gateway {

const console_asset* find_console_asset(std::string_view path) noexcept {
    if (path == "/") {
        path = "/console/index.html";
    }
    const auto assets = console_assets();
    const auto asset = std::ranges::find(assets, path, &console_asset::path);
    return asset == assets.end() ? nullptr : &*asset;
}

http_reply console_reply(const console_asset& asset) {
    return {
        .status = 200,
        .content_type = std::string{asset.content_type},
        .body = std::string{asset.body},
        .fields =
            {
                // The page loads nothing from elsewhere and talks only to this server; no-cache
                // makes a browser ask again after an upgrade (the files change with the binary).
                {"Content-Security-Policy",
                 "default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'"},
                {"X-Content-Type-Options", "nosniff"},
                {"Cache-Control", "no-cache"},
            },
    };
}

}  // namespace gateway
