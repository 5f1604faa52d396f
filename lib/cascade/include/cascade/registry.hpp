#pragma once
// Maps wire names to message types, so JSON from the edge becomes a typed message.

#include "cascade/message.hpp"

#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace cascade {

/// Why a message from the edge could not be decoded.
enum class decode_errc : std::uint8_t {
    unknown_message,  ///< no type of that name
    invalid_data,     ///< the data does not decode as that type
    not_from_edge,    ///< the type is not accepted from outside the bus (decode_from_edge)
};

class decode_error : public std::runtime_error {
public:
    decode_error(decode_errc code, const std::string& what) : std::runtime_error{what}, code_{code} {}
    [[nodiscard]] decode_errc code() const noexcept { return code_; }

private:
    decode_errc code_;
};

class message_registry {
public:
    /// Makes M known by its wire name; adding the same type twice is harmless,
    /// two types under one name are a std::logic_error.
    template <message M>
    void add() {
        add(message_type_of<M>());
    }
    void add(const message_type& type);

    [[nodiscard]] const message_type* find(std::string_view name) const noexcept;
    [[nodiscard]] std::vector<std::string_view> names() const;

    /// Decodes `data` as the message called `name`. Throws decode_error: unknown_message names
    /// the message, invalid_data names the field (for example "qty: type must be number").
    [[nodiscard]] any_message decode(std::string_view name, const nlohmann::json& data) const;

    /// decode() for a message that comes from outside the bus: a type that is not accepted from
    /// the edge (message_type::from_edge) is a decode_error not_from_edge, before its data is read.
    [[nodiscard]] any_message decode_from_edge(std::string_view name, const nlohmann::json& data) const;

private:
    /// The type called `name`; a decode_error unknown_message when there is none.
    [[nodiscard]] const message_type& known(std::string_view name) const;

    std::map<std::string, const message_type*, std::less<>> types_;
};

}  // namespace cascade
