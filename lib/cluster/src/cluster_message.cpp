#include "cluster/cluster_message.hpp"

#include <nlohmann/json.hpp>

#include <stdexcept>

namespace cluster {

std::string encode_message(const cluster_message& message) {
    return nlohmann::json{{"id", message.id},
                          {"cascade", message.cascade},
                          {"origin", message.origin},
                          {"aggregate", message.aggregate},
                          {"body", message.body}}
        .dump();
}

cluster_message decode_message(std::string_view payload) {
    try {
        const auto json = nlohmann::json::parse(payload);
        return {.id = json.at("id").get<std::string>(),
                .cascade = json.at("cascade").get<std::string>(),
                .origin = json.at("origin").get<std::string>(),
                .aggregate = json.at("aggregate").get<std::string>(),
                .body = json.at("body").get<std::string>()};
    } catch (const nlohmann::json::exception& e) {
        throw std::invalid_argument{std::string{"not a cluster message: "} + e.what()};
    }
}

}  // namespace cluster
