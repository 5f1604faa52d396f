#include "cascade/registry.hpp"

#include <stdexcept>
#include <string>

namespace cascade {

void message_registry::add(const message_type& type) {
    const auto [it, inserted] = types_.try_emplace(std::string{type.name}, &type);
    if (!inserted && it->second != &type) {
        throw std::logic_error{"two message types share the wire name " + std::string{type.name}};
    }
}

const message_type* message_registry::find(std::string_view name) const noexcept {
    const auto it = types_.find(name);
    return it == types_.end() ? nullptr : it->second;
}

std::vector<std::string_view> message_registry::names() const {
    std::vector<std::string_view> result;
    result.reserve(types_.size());
    for (const auto& [name, type] : types_) {
        result.emplace_back(type->name);
    }
    return result;
}

namespace {
// nlohmann's messages start with "[json.exception.type_error.302] "; the client needs the rest.
std::string without_exception_tag(std::string_view what) {
    if (what.starts_with("[json.exception.")) {
        if (const auto end = what.find("] "); end != std::string_view::npos) {
            what.remove_prefix(end + 2);
        }
    }
    return std::string{what};
}
}  // namespace

const message_type& message_registry::known(std::string_view name) const {
    const message_type* type = find(name);
    if (type == nullptr) {
        throw decode_error{decode_errc::unknown_message, "unknown message name '" + std::string{name} + "'"};
    }
    return *type;
}

any_message message_registry::decode_from_edge(std::string_view name, const nlohmann::json& data) const {
    if (const auto& type = known(name); !type.from_edge) {
        throw decode_error{decode_errc::not_from_edge,
                           std::string{name} + " is " + (type.kind == message_kind::event ? "an event" : "a command") +
                               " raised inside the bus; clients may not submit it"};
    }
    return decode(name, data);
}

any_message message_registry::decode(std::string_view name, const nlohmann::json& data) const {
    const message_type* type = &known(name);
    if (!data.is_object()) {
        throw decode_error{decode_errc::invalid_data, std::string{name} + ": data must be an object"};
    }
    try {
        return type->from_json(data);
    } catch (const nlohmann::json::exception& e) {
        throw decode_error{decode_errc::invalid_data, std::string{name} + ": " + without_exception_tag(e.what())};
    }
}

}  // namespace cascade
