#include "cluster/report_stream.hpp"

#include "cluster/streams.hpp"

#include <nlohmann/json.hpp>

#include <stdexcept>

namespace cluster {

namespace {

[[nodiscard]] std::string subject_of(std::string_view origin) {
    return "cascade.report." + std::string{origin};
}

}  // namespace

std::string encode_report(const handled_report& report) {
    return nlohmann::json{{"cascade", report.cascade}, {"message", report.message}, {"events", report.events}}.dump();
}

handled_report decode_report(std::string_view payload) {
    try {
        const auto json = nlohmann::json::parse(payload);
        return {.cascade = json.at("cascade").get<std::string>(),
                .message = json.at("message").get<std::string>(),
                .events = json.at("events").get<std::vector<std::string>>()};
    } catch (const nlohmann::json::exception& e) {
        throw std::invalid_argument{std::string{"not a handled report: "} + e.what()};
    }
}

report_stream::report_stream(nats_client& client) : client_{&client} {
    ensure_stream(client, {.name = name, .subjects = "cascade.report.*"});
}

void report_stream::publish(std::string_view origin, const handled_report& report) {
    (void)publish_once(*client_, name, subject_of(origin), "report:" + report.message, encode_report(report));
}

consumer_spec report_stream::consumer_for(std::string_view origin) {
    return {.stream = report_stream::name, .subject = subject_of(origin), .durable = "origin-" + std::string{origin}};
}

}  // namespace cluster
