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
enum class decode_errc : std::uint8_t { unknown_message, invalid_data };

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

private:
    std::map<std::string, const message_type*, std::less<>> types_;
};

}  // namespace cascade
