#pragma once
// An envelope is a message plus the metadata that places it in its cascade.

#include "cascade/message.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace cascade {

/// Unique within one bus; 0 means "none" (a submitted message has no causation).
using message_id = std::uint64_t;

struct envelope {
    message_id id{};
    message_id causation_id{};    ///< the message whose handler raised this one
    message_id correlation_id{};  ///< the submitted message that started the cascade
    std::uint32_t depth{};        ///< 0 for the submitted message, parent's depth + 1 after
    std::chrono::system_clock::time_point timestamp{};
    /// Who submitted the cascade's first message (through the gateway, the authenticated token's
    /// subject); every event of the cascade inherits it. Empty when unknown.
    std::string principal;
    any_message message;

    [[nodiscard]] std::string_view name() const noexcept { return message.name(); }
    /// The key of the message's lane; a view into the message, valid as long as the envelope.
    [[nodiscard]] std::string_view aggregate() const noexcept { return message.aggregate(); }
};

/// The wire form: {"id","name","aggregate","causation_id","correlation_id","depth","timestamp_ms",
/// "principal","data"}, "principal" only when it is not empty; ids are strings so that JavaScript
/// clients keep every digit.
[[nodiscard]] nlohmann::json to_json(const envelope& env);

}  // namespace cascade
