#include "gateway/client_message.hpp"

namespace gateway {

std::variant<cascade::any_message, message_refusal> decode_client_message(const cascade::message_registry& registry,
                                                                          const caller& who, std::string_view name,
                                                                          const nlohmann::json& data) {
    if (!who.grants.may_submit(name)) {
        return message_refusal{
            .code = protocol::refusal::forbidden,
            .message = "name: '" + std::string{name} + "' is not within this token's cascade.submit"};
    }
    try {
        return registry.decode_from_edge(name, data);
    } catch (const cascade::decode_error& e) {
        return message_refusal{.code = protocol::from_decode(e.code()), .message = e.what()};
    }
}

}  // namespace gateway
