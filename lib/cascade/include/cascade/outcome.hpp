#pragma once
// What a cascade comes to: the command's result, the events collected, the errors.

#include "cascade/envelope.hpp"

#include <string>
#include <vector>

namespace cascade {

/// ok: everything succeeded; partial: an event handler failed after its retries (or was
/// cancelled); failed: the command's handler failed, so the result is null.
enum class cascade_status : std::uint8_t { ok, partial, failed };

[[nodiscard]] constexpr std::string_view to_string(cascade_status status) noexcept {
    switch (status) {
        case cascade_status::ok: return "ok";
        case cascade_status::partial: return "partial";
        case cascade_status::failed: return "failed";
    }
    return "unknown";
}

/// Stable error codes of handler_error::code.
namespace error_code {
inline constexpr std::string_view handler_failed = "handler_failed";  ///< an event handler, after retries
inline constexpr std::string_view command_failed = "command_failed";  ///< the command's handler threw
inline constexpr std::string_view no_handler = "no_handler";          ///< a command nobody handles
inline constexpr std::string_view cancelled = "cancelled";            ///< shutdown passed its deadline
}  // namespace error_code

struct handler_error {
    std::string handler;
    std::string code;
    std::string message;
    message_id handled_id{};  ///< the message whose handler failed
};

struct outcome {
    message_id id{};  ///< of the submitted message, also the cascade's correlation id
    cascade_status status = cascade_status::ok;
    nlohmann::json result;        ///< the command's result; null for events and failures
    std::vector<envelope> events;  ///< every event raised, in the order collected
    std::vector<handler_error> errors;
};

[[nodiscard]] nlohmann::json to_json(const handler_error& error);

}  // namespace cascade
