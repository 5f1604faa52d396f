#pragma once
// The one decoding of a message a client submits, for every route that takes one (WebSocket
// submits, POST /messages, a domain's routes): a type that may come from outside the bus, named
// within what the caller's claims allow, with data that decodes.

#include "gateway/caller.hpp"
#include "gateway/protocol.hpp"

#include <cascade/registry.hpp>

#include <string>
#include <string_view>
#include <variant>

namespace gateway {

/// Why a client's message is not taken, for its error frame or HTTP answer.
struct message_refusal {
    protocol::refusal code = protocol::refusal::invalid_data;
    std::string message;
};

/// `name` decoded from `data` as `who` may submit it. A name outside the caller's claims is
/// refused with `forbidden` before anything is decoded.
[[nodiscard]] std::variant<cascade::any_message, message_refusal> decode_client_message(
    const cascade::message_registry& registry, const caller& who, std::string_view name, const nlohmann::json& data);

}  // namespace gateway
