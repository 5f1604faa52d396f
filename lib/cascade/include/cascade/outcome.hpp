#pragma once
// What a cascade comes to: the command's result, the events collected, the errors.

#include "cascade/envelope.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace cascade {

/// ok: everything succeeded. partial: an event handler failed after its retries, or shutdown
/// ended the cascade after its submitted message was handled. failed: the command's handler
/// failed or never ran (the result is null), or the cascade broke a limit.
enum class cascade_status : std::uint8_t { ok, partial, failed };

[[nodiscard]] constexpr std::string_view to_string(cascade_status status) noexcept {
    switch (status) {
        case cascade_status::ok:
            return "ok";
        case cascade_status::partial:
            return "partial";
        case cascade_status::failed:
            return "failed";
    }
    return "unknown";
}

/// Stable codes of handler_error::code: why (part of) a cascade did not succeed.
namespace failure {
inline constexpr std::string_view handler_failed = "handler_failed";  ///< an event handler, after retries
inline constexpr std::string_view command_failed = "command_failed";  ///< the command's handler threw
inline constexpr std::string_view no_handler = "no_handler";          ///< a command nobody handles
/// Shutdown passed its deadline before the submitted message was handled.
inline constexpr std::string_view cancelled = "cancelled";
/// Shutdown passed its deadline after the submitted message was handled, before all its events were.
inline constexpr std::string_view unfinished = "unfinished";
inline constexpr std::string_view depth_exceeded = "depth_exceeded";        ///< events raised past max_depth
inline constexpr std::string_view cascade_too_large = "cascade_too_large";  ///< past max_cascade_events
inline constexpr std::string_view internal = "internal";  ///< the bus's own machinery failed (a timer, memory)
}  // namespace failure

struct handler_error {
    std::string handler;  ///< empty when no handler is to blame
    std::string code;     ///< one of cascade::failure
    std::string message;
    message_id handled_id{};  ///< the message whose handling failed, raised past a limit, or was cut
};

struct outcome {
    message_id id{};  ///< of the submitted message, also the cascade's correlation id
    cascade_status status = cascade_status::ok;
    nlohmann::json result;         ///< the command's result; null for events and failed commands
    std::vector<envelope> events;  ///< every event raised and admitted, in the order collected
    std::vector<handler_error> errors;
    std::uint64_t dropped{};  ///< events raised past a limit (depth_exceeded, cascade_too_large)
};

[[nodiscard]] nlohmann::json to_json(const handler_error& error);

}  // namespace cascade
