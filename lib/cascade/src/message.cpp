#include "cascade/message.hpp"

#include "cascade/dead_letter.hpp"
#include "cascade/envelope.hpp"
#include "cascade/outcome.hpp"

#include <atomic>
#include <string>

namespace cascade {

namespace detail {
std::size_t next_message_type_index() noexcept {
    static std::atomic<std::size_t> next{0};
    return next.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace detail

nlohmann::json to_json(const envelope& env) {
    const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(env.timestamp.time_since_epoch()).count();
    nlohmann::json wire{
        {"id", std::to_string(env.id)},
        {"name", env.name()},
        {"aggregate", env.aggregate()},
        {"causation_id",
         env.causation_id == 0 ? nlohmann::json(nullptr) : nlohmann::json(std::to_string(env.causation_id))},
        {"correlation_id", std::to_string(env.correlation_id)},
        {"depth", env.depth},
        {"timestamp_ms", millis},
        {"data", env.message.data()},
    };
    if (!env.principal.empty()) {  // absent when unknown: an unauthenticated client's wire is unchanged
        wire["principal"] = env.principal;
    }
    return wire;
}

nlohmann::json to_json(const dead_letter& letter) {
    return {{"id", std::to_string(letter.id)},
            {"handler", letter.handler},
            {"error", letter.error},
            {"attempts", letter.attempts},
            {"at_ms", std::chrono::duration_cast<std::chrono::milliseconds>(letter.at.time_since_epoch()).count()},
            {"message", to_json(letter.message)}};
}

nlohmann::json to_json(const handler_error& error) {
    return {{"handler", error.handler}, {"code", error.code}, {"message", error.message}};
}

}  // namespace cascade
