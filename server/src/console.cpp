#include "console_assets.hpp"

#include <algorithm>
#include <string>

namespace gateway {

std::optional<http_reply> console_reply(std::string_view path) {
    if (path == "/") {
        path = "/console/index.html";
    }
    const auto assets = console_assets();
    const auto asset = std::ranges::find(assets, path, &console_asset::path);
    if (asset == assets.end()) {
        return std::nullopt;
    }
    return http_reply{
        .status = 200,
        .content_type = std::string{asset->content_type},
        .body = std::string{asset->body},
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
