#pragma once
// A message's fields, described once: its JSON both ways and the JSON Schema of its data all come
// from the one list, so the catalog a client reads cannot disagree with the decoder.
//
//     struct order_placed {
//         static constexpr std::string_view name = "OrderPlaced";
//         static constexpr cascade::message_kind kind = cascade::message_kind::event;
//         std::string order;
//         int qty{};
//         std::string_view aggregate() const noexcept { return order; }
//         static constexpr auto fields() {
//             return std::tuple{cascade::field{"order", &order_placed::order, cascade::aggregate_key},
//                               cascade::field{"qty", &order_placed::qty, cascade::at_least(1)}};
//         }
//     };

#include <nlohmann/json.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

namespace cascade {

/// What a field asks of its value beyond its type.
struct field_rules {
    std::optional<std::int64_t> minimum;  ///< integers: the least value accepted
    std::size_t min_length = 0;           ///< strings: the fewest characters (code points) accepted
    bool aggregate = false;               ///< its value is the message's aggregate key
};

/// A string that must not be empty.
inline constexpr field_rules non_empty{.min_length = 1};
/// The field whose value names the message's lane: a string that must not be empty.
inline constexpr field_rules aggregate_key{.min_length = 1, .aggregate = true};
/// An integer of at least `least`.
[[nodiscard]] constexpr field_rules at_least(std::int64_t least) noexcept {
    return {.minimum = least};
}

/// Data member `member` of message M, under its wire name. A std::optional member may be absent
/// or null on the wire; any other is required.
template <class M, class T>
struct field {
    std::string_view name;
    T M::*member;
    field_rules rules{};
};
template <class M, class T>
field(std::string_view, T M::*, field_rules) -> field<M, T>;
template <class M, class T>
field(std::string_view, T M::*) -> field<M, T>;

/// How values of T read from JSON, write to JSON and describe themselves as JSON Schema:
///     static T read(const nlohmann::json& value, const field_rules& rules);   // throws json exceptions
///     static nlohmann::json write(const T& value);
///     static nlohmann::json schema(const field_rules& rules);
/// Given here for strings, booleans, integers and floating point; specialize it for a type of
/// your own (the allocation domain does, for dates).
template <class T>
struct field_codec;

/// A message whose data is described by `static constexpr auto fields()`, a std::tuple of field.
template <class M>
concept described = requires {
    std::tuple_size<decltype(M::fields())>::value;
};

namespace detail {

/// A field's value that does not satisfy its rules: a json::other_error whose message starts with
/// the field's path (with JSON_DIAGNOSTICS), like "(/qty) must be an integer from 1 to …".
[[noreturn]] void throw_invalid_field(const nlohmann::json& value, const std::string& why);
/// A field's value of the wrong JSON type: a json::type_error, as nlohmann's own conversions throw.
[[noreturn]] void throw_field_type(const nlohmann::json& value, std::string_view expected);

/// Reads a signed or unsigned JSON integer within [least, most].
[[nodiscard]] std::int64_t read_integer(const nlohmann::json& value, std::int64_t least, std::int64_t most);
/// Reads a string of at least `min_length` code points.
[[nodiscard]] std::string read_string(const nlohmann::json& value, std::size_t min_length);

template <class T>
struct optional_value {
    using type = T;
    static constexpr bool optional = false;
};
template <class T>
struct optional_value<std::optional<T>> {
    using type = T;
    static constexpr bool optional = true;
};

template <class M, class T>
void write_field(nlohmann::json& data, const M& message, const field<M, T>& f) {
    using value = optional_value<T>;
    const T& member = message.*f.member;
    if constexpr (value::optional) {
        data[f.name] = member ? field_codec<typename value::type>::write(*member) : nlohmann::json(nullptr);
    } else {
        data[f.name] = field_codec<T>::write(member);
    }
}

template <class M, class T>
void read_field(const nlohmann::json& data, M& message, const field<M, T>& f) {
    using value = optional_value<T>;
    if constexpr (value::optional) {
        const auto it = data.find(f.name);
        message.*f.member = it == data.end() || it->is_null()
                                ? std::nullopt
                                : std::optional{field_codec<typename value::type>::read(*it, f.rules)};
    } else {
        // at() names a missing key ("key 'qty' not found") and refuses data that is not an object.
        message.*f.member = field_codec<T>::read(data.at(f.name), f.rules);
    }
}

template <class M, class T>
void describe_field(nlohmann::json& properties, nlohmann::json& required, const field<M, T>& f) {
    using value = optional_value<T>;
    auto schema = field_codec<typename value::type>::schema(f.rules);
    if constexpr (value::optional) {
        schema["type"] = nlohmann::json::array({schema["type"], "null"});
    } else {
        required.push_back(f.name);
    }
    properties[std::string{f.name}] = std::move(schema);
}

}  // namespace detail

/// M's fields as a JSON object (an absent optional as null).
template <described M>
void write_fields(nlohmann::json& data, const M& message) {
    data = nlohmann::json::object();
    std::apply([&](const auto&... f) { (detail::write_field(data, message, f), ...); }, M::fields());
}

/// M's fields from a JSON object, in declaration order; throws nlohmann::json exceptions that name
/// the field. Keys M does not declare are ignored.
template <described M>
void read_fields(const nlohmann::json& data, M& message) {
    std::apply([&](const auto&... f) { (detail::read_field(data, message, f), ...); }, M::fields());
}

/// The JSON Schema (draft 2020-12) of M's data: what read_fields accepts, but that an integer
/// must be written without a fraction (1.0 is refused) and what a codec checks beyond its schema
/// (a date's calendar).
template <described M>
[[nodiscard]] nlohmann::json data_schema() {
    auto properties = nlohmann::json::object();
    auto required = nlohmann::json::array();
    std::apply([&](const auto&... f) { (detail::describe_field(properties, required, f), ...); }, M::fields());
    return {{"type", "object"}, {"properties", std::move(properties)}, {"required", std::move(required)}};
}

/// The wire name of M's aggregate_key field; empty when M marks none.
template <described M>
[[nodiscard]] constexpr std::string_view aggregate_field() noexcept {
    return std::apply(
        [](const auto&... f) {
            std::string_view found;
            ((found = found.empty() && f.rules.aggregate ? f.name : found), ...);
            return found;
        },
        M::fields());
}

template <>
struct field_codec<std::string> {
    [[nodiscard]] static std::string read(const nlohmann::json& value, const field_rules& rules) {
        return detail::read_string(value, rules.min_length);
    }
    [[nodiscard]] static nlohmann::json write(const std::string& value) { return value; }
    [[nodiscard]] static nlohmann::json schema(const field_rules& rules);
};

template <>
struct field_codec<bool> {
    [[nodiscard]] static bool read(const nlohmann::json& value, const field_rules& rules);
    [[nodiscard]] static nlohmann::json write(bool value) { return value; }
    [[nodiscard]] static nlohmann::json schema(const field_rules& rules);
};

/// Integers up to 64 bits signed (an unsigned 64-bit field is limited to INT64_MAX). A fraction
/// like 2.5 is a type error, not a silent 2.
template <std::integral T>
requires(!std::same_as<T, bool>) struct field_codec<T> {
    static constexpr std::int64_t lowest = std::numeric_limits<T>::min();
    static constexpr std::int64_t highest = std::numeric_limits<T>::max() >
                                                    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
                                                ? std::numeric_limits<std::int64_t>::max()
                                                : static_cast<std::int64_t>(std::numeric_limits<T>::max());

    [[nodiscard]] static std::int64_t least(const field_rules& rules) noexcept {
        return rules.minimum && *rules.minimum > lowest ? *rules.minimum : lowest;
    }
    [[nodiscard]] static T read(const nlohmann::json& value, const field_rules& rules) {
        return static_cast<T>(detail::read_integer(value, least(rules), highest));
    }
    [[nodiscard]] static nlohmann::json write(T value) { return value; }
    [[nodiscard]] static nlohmann::json schema(const field_rules& rules) {
        return {{"type", "integer"}, {"minimum", least(rules)}, {"maximum", highest}};
    }
};

template <std::floating_point T>
struct field_codec<T> {
    [[nodiscard]] static T read(const nlohmann::json& value, const field_rules& /*rules*/) {
        if (!value.is_number()) {
            detail::throw_field_type(value, "number");
        }
        return value.get<T>();
    }
    [[nodiscard]] static nlohmann::json write(T value) { return value; }
    [[nodiscard]] static nlohmann::json schema(const field_rules& /*rules*/) { return {{"type", "number"}}; }
};

}  // namespace cascade

namespace nlohmann {
/// Described messages convert to and from JSON through their fields, with no code of their own.
template <cascade::described M>
struct adl_serializer<M> {
    static void to_json(json& data, const M& message) { cascade::write_fields(data, message); }
    static void from_json(const json& data, M& message) { cascade::read_fields(data, message); }
};
}  // namespace nlohmann
