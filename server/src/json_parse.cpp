#include "json_parse.hpp"

#include <simdjson.h>

#include <cstdint>
#include <string>

namespace gateway {
namespace {

using json = nlohmann::json;
using simdjson::dom::element;
using simdjson::dom::element_type;

/// Builds the document as nlohmann's parser would. Recursion is bounded by simdjson's maximum
/// depth (1024).
json to_document(element e) {
    switch (e.type()) {
        case element_type::OBJECT: {
            json object = json::object();
            for (const auto [key, value] : simdjson::dom::object{e}) {
                object[std::string{key}] = to_document(value);  // a repeated key: the last wins
            }
            return object;
        }
        case element_type::ARRAY: {
            json array = json::array();
            for (const element value : simdjson::dom::array{e}) {
                array.push_back(to_document(value));
            }
            return array;
        }
        case element_type::STRING:
            return std::string{std::string_view{e}};
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

}  // namespace

std::optional<json> parse_json(std::string_view text) {
    // One parser per thread: it keeps its buffers between frames, and it is not thread-safe.
    thread_local simdjson::dom::parser parser;
    element root;
    if (parser.parse(text.data(), text.size()).get(root) == simdjson::SUCCESS) {
        return to_document(root);
    }
    json document = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (document.is_discarded()) {
        return std::nullopt;
    }
    return document;
}

}  // namespace gateway
