#include "cascade/journal.hpp"

#include <chrono>
#include <string>

namespace cascade {
namespace {

using json = nlohmann::json;

[[nodiscard]] message_id id_of(const json& value) {
    return value.is_null() ? message_id{0} : std::stoull(value.get<std::string>());
}

[[nodiscard]] cascade_status status_of(std::string_view name) {
    if (name == to_string(cascade_status::partial)) {
        return cascade_status::partial;
    }
    return name == to_string(cascade_status::failed) ? cascade_status::failed : cascade_status::ok;
}

}  // namespace

envelope envelope_from_json(const json& recorded, const message_registry& registry) {
    const auto principal = recorded.find("principal");  // absent: unknown (and in records older than it)
    return envelope{.id = id_of(recorded.at("id")),
                    .causation_id = id_of(recorded.at("causation_id")),
                    .correlation_id = id_of(recorded.at("correlation_id")),
                    .depth = recorded.at("depth").get<std::uint32_t>(),
                    .timestamp = std::chrono::system_clock::time_point{std::chrono::milliseconds{
                        recorded.at("timestamp_ms").get<std::int64_t>()}},
                    .principal = principal == recorded.end() ? std::string{} : principal->get<std::string>(),
                    .message = registry.decode(recorded.at("name").get<std::string>(), recorded.at("data"))};
}

dead_letter dead_letter_from_json(const json& recorded, const message_registry& registry) {
    return dead_letter{.id = id_of(recorded.at("id")),
                       .message = envelope_from_json(recorded.at("message"), registry),
                       .handler = recorded.at("handler").get<std::string>(),
                       .error = recorded.at("error").get<std::string>(),
                       .attempts = recorded.at("attempts").get<std::uint32_t>(),
                       .at = std::chrono::system_clock::time_point{
                           std::chrono::milliseconds{recorded.at("at_ms").get<std::int64_t>()}}};
}

json to_json(const outcome& result) {
    auto events = json::array();
    for (const auto& event : result.events) {
        events.push_back(to_json(event));
    }
    auto errors = json::array();
    for (const auto& error : result.errors) {
        auto entry = to_json(error);
        entry["handled_id"] = std::to_string(error.handled_id);
        errors.push_back(std::move(entry));
    }
    return {{"id", std::to_string(result.id)}, {"status", to_string(result.status)}, {"result", result.result},
            {"events", std::move(events)},     {"errors", std::move(errors)},        {"dropped", result.dropped}};
}

outcome outcome_from_json(const json& recorded, const message_registry& registry) {
    outcome result{.id = id_of(recorded.at("id")),
                   .status = status_of(recorded.at("status").get<std::string>()),
                   .result = recorded.at("result"),
                   .events = {},
                   .errors = {},
                   .dropped = recorded.at("dropped").get<std::uint64_t>()};
    for (const auto& event : recorded.at("events")) {
        result.events.push_back(envelope_from_json(event, registry));
    }
    for (const auto& error : recorded.at("errors")) {
        result.errors.push_back({.handler = error.at("handler").get<std::string>(),
                                 .code = error.at("code").get<std::string>(),
                                 .message = error.at("message").get<std::string>(),
                                 .handled_id = id_of(error.at("handled_id"))});
    }
    return result;
}

}  // namespace cascade
