// Any bytes as JSON. parse_json must build exactly the document nlohmann's parser builds (its
// fast path reads simdjson's tape instead), refuse what nlohmann refuses, and hold its limits
// exactly: refuse a text only when it is over them (a repeated key's overwritten value counts),
// never accept one that is.
#include "gateway/json_parse.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>

namespace {

using json = nlohmann::json;

void require(bool holds) {
    if (!holds) {
        __builtin_trap();
    }
}

struct measure {
    std::size_t depth = 0;
    std::size_t longest_string = 0;
};

/// What the limits look at, read from the text by nlohmann's parser: every string and key as
/// written, a repeated key's overwritten value included.
measure measure_of(std::string_view text) {
    measure m;
    const auto record = [&m](int depth, json::parse_event_t event, json& parsed) {
        using parse_event = json::parse_event_t;
        if (event == parse_event::object_start || event == parse_event::array_start) {
            m.depth = std::max(m.depth, static_cast<std::size_t>(depth) + 1);
        } else if ((event == parse_event::key || event == parse_event::value) && parsed.is_string()) {
            m.longest_string = std::max(m.longest_string, parsed.get_ref<const std::string&>().size());
        }
        return true;
    };
    (void)json::parse(text, record, /*allow_exceptions=*/false);
    return m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text{reinterpret_cast<const char*>(data), size};
    const json theirs = json::parse(text, nullptr, /*allow_exceptions=*/false);
    const gateway::json_limits tight{.max_depth = 4, .max_string_bytes = 8};
    const gateway::json_limits loose{.max_depth = gateway::max_json_depth,
                                     .max_string_bytes = std::numeric_limits<std::size_t>::max()};
    for (const auto& limits : {tight, loose}) {
        const auto ours = gateway::parse_json(text, limits);
        if (theirs.is_discarded()) {
            require(!ours.document.has_value());
            continue;
        }
        const auto m = measure_of(text);
        const bool within = m.depth <= limits.max_depth && m.longest_string <= limits.max_string_bytes;
        require(ours.document.has_value() == within);
        if (ours.document) {
            require(*ours.document == theirs);
            require(ours.document->dump() == theirs.dump());  // the same number types, too
        } else {
            require(ours.refused == gateway::parsed_json::problem::over_limit);
        }
    }
    return 0;
}
