#include "gateway/json_parse.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <string>

namespace gateway {
namespace {

using json = nlohmann::json;
using simdjson::dom::element;
using simdjson::dom::element_type;

/// Thrown while building a document that breaks a limit; never leaves this file.
struct over_limit {
    std::string why;
};

[[nodiscard]] std::string too_long(const json_limits& limits) {
    return "a string is longer than " + std::to_string(limits.max_string_bytes) + " bytes";
}

[[nodiscard]] std::string too_deep(const json_limits& limits) {
    return "nesting is deeper than " + std::to_string(limits.max_depth);
}

void check_length(std::string_view text, const json_limits& limits) {
    if (text.size() > limits.max_string_bytes) {
        throw over_limit{too_long(limits)};
    }
}

/// Builds the document as nlohmann's parser would, `depth` the containers around `e`. simdjson
/// has bounded the depth already, give or take an empty container, which it does not count.
json to_document(element e, const json_limits& limits, std::size_t depth = 0) {
    const auto enter = [&] {
        if (++depth > limits.max_depth) {
            throw over_limit{too_deep(limits)};
        }
    };
    switch (e.type()) {
        case element_type::OBJECT: {
            enter();
            json object = json::object();
            for (const auto [key, value] : simdjson::dom::object{e}) {
                check_length(key, limits);
                object[std::string{key}] = to_document(value, limits, depth);  // a repeated key: the last wins
            }
            return object;
        }
        case element_type::ARRAY: {
            enter();
            json array = json::array();
            for (const element value : simdjson::dom::array{e}) {
                array.push_back(to_document(value, limits, depth));
            }
            return array;
        }
        case element_type::STRING: {
            const std::string_view text{e};
            check_length(text, limits);
            return std::string{text};
        }
        case element_type::INT64: {
            // nlohmann stores every integer that is not negative as unsigned.
            const auto value = std::int64_t{e};
            return value < 0 ? json(value) : json(static_cast<std::uint64_t>(value));
        }
        case element_type::UINT64:
            return std::uint64_t{e};
        case element_type::DOUBLE:
            return double{e};
        case element_type::BOOL:
            return bool{e};
        case element_type::NULL_VALUE:
            return nullptr;
    }
    return nullptr;  // unreachable: every element type is handled above
}

/// nlohmann's parser under the same limits, for what simdjson cannot represent.
parsed_json parse_with_nlohmann(std::string_view text, const json_limits& limits) {
    const auto within_limits = [&limits](int depth, json::parse_event_t event, json& parsed) {
        using parse_event = json::parse_event_t;
        // A container's start event comes at its parent's depth: the frame's object at 0.
        if ((event == parse_event::object_start || event == parse_event::array_start) &&
            static_cast<std::size_t>(depth) >= limits.max_depth) {
            throw over_limit{too_deep(limits)};
        }
        if ((event == parse_event::key || event == parse_event::value) && parsed.is_string()) {
            check_length(parsed.get_ref<const std::string&>(), limits);
        }
        return true;
    };
    try {
        json document = json::parse(text, within_limits, /*allow_exceptions=*/false);
        if (document.is_discarded()) {
            return {.refused = parsed_json::problem::not_json, .error = "not valid JSON"};
        }
        return {.document = std::move(document)};
    } catch (const over_limit& e) {
        return {.refused = parsed_json::problem::over_limit, .error = e.why};
    }
}

}  // namespace

parsed_json parse_json(std::string_view text, const json_limits& limits) {
    // One parser per thread: it keeps its buffers between frames, and it is not thread-safe.
    thread_local simdjson::dom::parser parser;
    // simdjson counts the document itself as a level, and not an empty container: two more than
    // the limit, which to_document then checks exactly.
    const auto depth = std::clamp<std::size_t>(limits.max_depth, 1, max_json_depth) + 2;
    if (parser.max_depth() != depth &&
        parser.allocate(std::max<std::size_t>(parser.capacity(), 4096), depth) != simdjson::SUCCESS) {
        return parse_with_nlohmann(text, limits);
    }
    element root;
    const auto error = parser.parse(text.data(), text.size()).get(root);
    if (error == simdjson::DEPTH_ERROR) {
        return {.refused = parsed_json::problem::over_limit, .error = too_deep(limits)};
    }
    if (error != simdjson::SUCCESS) {
        return parse_with_nlohmann(text, limits);
    }
    try {
        return {.document = to_document(root, limits)};
    } catch (const over_limit& e) {
        return {.refused = parsed_json::problem::over_limit, .error = e.why};
    }
}

}  // namespace gateway
