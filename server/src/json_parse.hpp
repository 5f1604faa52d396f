#pragma once
// Parsing a frame's text into an nlohmann::json document, fast. nlohmann's own parser spends
// about 2 µs lexing a 150-byte submit frame, the largest single cost of the gateway's I/O thread;
// simdjson validates and tokenises it in a tenth of that, and the document is then built from
// simdjson's tape.

#include <nlohmann/json.hpp>

#include <optional>
#include <string_view>

namespace gateway {

/// The document nlohmann::json::parse(text) builds (numbers typed as it types them, the last of
/// duplicate keys kept), or std::nullopt when `text` is not JSON. What simdjson refuses although
/// it is JSON (integers beyond 64 bits, nesting deeper than 1024) is left to nlohmann's parser.
[[nodiscard]] std::optional<nlohmann::json> parse_json(std::string_view text);

}  // namespace gateway
