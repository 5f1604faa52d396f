#include "cascade/fields.hpp"

#include <algorithm>

namespace cascade {
namespace detail {

using nlohmann::json;

namespace {
// nlohmann's own ids: 302 for a value of the wrong type; 501 (an id of ours, in its other_error
// range) for a value its rules refuse.
constexpr int wrong_type_id = 302;
constexpr int invalid_value_id = 501;

[[nodiscard]] std::size_t code_points(std::string_view text) noexcept {
    return static_cast<std::size_t>(std::count_if(
        text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U; }));
}
}  // namespace

void throw_invalid_field(const json& value, const std::string& why) {
    throw json::other_error::create(invalid_value_id, why, &value);
}

void throw_field_type(const json& value, std::string_view expected) {
    throw json::type_error::create(
        wrong_type_id, std::string{"type must be "}.append(expected) + ", but is " + value.type_name(), &value);
}

std::int64_t read_integer(const json& value, std::int64_t least, std::int64_t most) {
    if (!value.is_number_integer()) {
        throw_field_type(value, "integer");
    }
    // Non-negative integers are stored unsigned, negative ones signed: compare in the stored type.
    const bool in_range = value.is_number_unsigned()
                              ? (least <= 0 || value.get<std::uint64_t>() >= static_cast<std::uint64_t>(least)) &&
                                    value.get<std::uint64_t>() <= static_cast<std::uint64_t>(most)
                              : value.get<std::int64_t>() >= least && value.get<std::int64_t>() <= most;
    if (!in_range) {
        throw_invalid_field(value, "must be an integer from " + std::to_string(least) + " to " + std::to_string(most) +
                                       ", but is " + value.dump());
    }
    return value.get<std::int64_t>();
}

std::string read_string(const json& value, std::size_t min_length) {
    if (!value.is_string()) {
        throw_field_type(value, "string");
    }
    const auto& text = value.get_ref<const std::string&>();
    if (code_points(text) < min_length) {
        throw_invalid_field(value, min_length == 1
                                       ? std::string{"must not be empty"}
                                       : "must have at least " + std::to_string(min_length) + " characters");
    }
    return text;
}

}  // namespace detail

nlohmann::json field_codec<std::string>::schema(const field_rules& rules) {
    nlohmann::json schema{{"type", "string"}};
    if (rules.min_length > 0) {
        schema["minLength"] = rules.min_length;
    }
    return schema;
}

bool field_codec<bool>::read(const nlohmann::json& value, const field_rules& /*rules*/) {
    if (!value.is_boolean()) {
        detail::throw_field_type(value, "boolean");
    }
    return value.get<bool>();
}

nlohmann::json field_codec<bool>::schema(const field_rules& /*rules*/) {
    return {{"type", "boolean"}};
}

}  // namespace cascade
