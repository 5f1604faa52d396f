#pragma once
// Parsing what a client sends (frames, HTTP bodies) into an nlohmann::json document, fast and
// within bounds. nlohmann's own parser spends about 2 µs lexing a 150-byte submit frame, the
// largest single cost of the gateway's I/O thread; simdjson validates and tokenises it in a tenth
// of that, and the document is then built from simdjson's tape. The bounds keep one request from
// costing the server far more than its size: a 1 MB body nested 500,000 deep built a 38 MB document.

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gateway {

/// Bounds on a JSON document from a client.
struct json_limits {
    /// Objects and arrays nested deeper than this are refused (the frame's own object is depth 1).
    std::size_t max_depth = 32;
    /// A longer string, or object key, is refused (bytes of its UTF-8, after unescaping).
    std::size_t max_string_bytes = 8 * 1024;
};

/// The largest max_depth a server accepts: documents are built recursively.
inline constexpr std::size_t max_json_depth = 1024;

/// What parse_json made of a text.
struct parsed_json {
    enum class problem : std::uint8_t {
        none,        ///< `document` holds it
        not_json,    ///< not a JSON text
        over_limit,  ///< JSON, but deeper or with a longer string than json_limits allow
    };
    std::optional<nlohmann::json> document;
    problem refused = problem::none;
    std::string error;  ///< why, when refused

    [[nodiscard]] explicit operator bool() const noexcept { return document.has_value(); }
};

/// The document nlohmann::json::parse(text) builds (numbers typed as it types them, the last of
/// duplicate keys kept), or why `text` is refused. What simdjson refuses although it is JSON
/// (integers beyond 64 bits) is left to nlohmann's parser, under the same limits.
[[nodiscard]] parsed_json parse_json(std::string_view text, const json_limits& limits = {});

}  // namespace gateway
