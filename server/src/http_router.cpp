#include "gateway/http_router.hpp"

#include "console_assets.hpp"
#include "gateway/client_message.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace gateway {
namespace {

using json = nlohmann::json;
using protocol::refusal;

refusal code_of(cascade::admission refused) noexcept {
    switch (refused) {
        case cascade::admission::overloaded:
            return refusal::overloaded;
        case cascade::admission::duplicate_key:
            return refusal::duplicate_id;
        default:
            return refusal::shutting_down;
    }
}

http_reply not_found(std::string_view message) {
    return json_reply(404, {{"code", "not_found"}, {"message", message}});
}

/// The letter of "/dead-letters/{id}/retry", or std::nullopt when the path is not of that shape.
std::optional<std::uint64_t> retried_letter(std::string_view path) {
    constexpr std::string_view prefix = "/dead-letters/";
    constexpr std::string_view suffix = "/retry";
    if (!path.starts_with(prefix) || !path.ends_with(suffix) || path.size() <= prefix.size() + suffix.size()) {
        return std::nullopt;
    }
    const auto digits = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
    std::uint64_t letter = 0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), letter);
    if (error != std::errc{} || end != digits.data() + digits.size()) {
        return std::nullopt;
    }
    return letter;
}

}  // namespace

http_reply json_reply(unsigned status, const json& body) {
    return {.status = status, .content_type = "application/json", .body = protocol::dump(body)};
}

http_reply error_reply(unsigned status, refusal code, std::string_view message) {
    return json_reply(status, {{"code", protocol::to_string(code)}, {"message", message}});
}

json outcome_json(const cascade::outcome& outcome, const std::unordered_map<cascade::message_id, std::uint64_t>& seqs) {
    auto events = json::array();
    for (const auto& event : outcome.events) {
        auto wire = cascade::to_json(event);
        if (const auto seq = seqs.find(event.id); seq != seqs.end() && seq->second != 0) {
            wire["seq"] = seq->second;
        }
        events.push_back(std::move(wire));
    }
    auto errors = json::array();
    for (const auto& error : outcome.errors) {
        errors.push_back(cascade::to_json(error));
    }
    return {{"status", cascade::to_string(outcome.status)},
            {"result", outcome.result},
            {"events", std::move(events)},
            {"errors", std::move(errors)}};
}

boost::asio::awaitable<http_reply> http_router::handle(http_call call) {
    gateway_metrics::add(metrics_.http_requests);
    const auto path = path_of(call.target);
    http_reply reply;
    try {
        constexpr std::string_view messages_prefix = "/messages/";
        if (path == "/messages" && call.method == "POST") {
            reply = co_await post_message(call);
        } else if (path == "/messages") {
            reply = error_reply(405, refusal::bad_request, "use POST /messages");
        } else if (path.starts_with(messages_prefix) && path.size() > messages_prefix.size() && call.method == "GET") {
            reply = recorded_message(call.who, path.substr(messages_prefix.size()));
        } else if (path.starts_with(messages_prefix)) {
            reply = error_reply(405, refusal::bad_request, "use GET /messages/{id}");
        } else if (path == "/catalog" && call.method == "GET") {
            reply = catalog();
        } else if (path == "/health") {
            reply = health();
        } else if (path == "/metrics") {
            reply = metrics();
        } else if (path == "/dead-letters" && call.method == "GET") {
            reply = dead_letters(call.who);
        } else if (path == "/dead-letters") {
            reply = error_reply(405, refusal::bad_request, "use GET /dead-letters");
        } else if (const auto letter = retried_letter(path); letter && call.method == "POST") {
            reply = co_await retry_dead_letter(*letter, call.who);
        } else if (letter) {
            reply = error_reply(405, refusal::bad_request, "use POST /dead-letters/{id}/retry");
        } else if (path == "/ws") {
            reply = error_reply(426, refusal::bad_request, "/ws takes a WebSocket upgrade");
        } else if (path == "/" || path.starts_with("/console/")) {
            // The console's: never a domain's, since a GET there is open under tokens.
            const auto* page = call.method == "GET" ? find_console_asset(path) : nullptr;
            if (page != nullptr) {
                reply = console_reply(*page);
            } else {
                reply = not_found("no console file there");
            }
        } else {
            std::optional<http_reply> routed;
            if (extra_) {
                routed = co_await extra_(call, submitter_);
            }
            reply = routed ? std::move(*routed) : not_found("no route for " + std::string{path});
        }
    } catch (const std::exception& e) {
        metrics_.count_refusal(refusal::internal);
        reply = error_reply(500, refusal::internal, e.what());
    }
    co_return reply;
}

boost::asio::awaitable<http_reply> http_router::post_message(const http_call& call) {
    auto parsed = parse_json(call.body, call.json);
    if (parsed.refused == parsed_json::problem::over_limit) {
        metrics_.count_refusal(refusal::limit_exceeded);
        co_return error_reply(400, refusal::limit_exceeded, "body refused: " + parsed.error);
    }
    if (!parsed || !parsed.document->is_object()) {
        metrics_.count_refusal(refusal::bad_request);
        co_return error_reply(400, refusal::bad_request, "body must be a JSON object {\"name\",\"data\"}");
    }
    const json& body = *parsed.document;
    const auto name = body.find("name");
    if (name == body.end() || !name->is_string()) {
        metrics_.count_refusal(refusal::bad_request);
        co_return error_reply(400, refusal::bad_request, "name: missing or not a string");
    }
    const auto data = body.find("data");
    if (data == body.end() || !data->is_object()) {
        metrics_.count_refusal(refusal::bad_request);
        co_return error_reply(400, refusal::bad_request, "data: missing or not an object");
    }
    std::string key;
    if (const auto id = body.find("id"); id != body.end()) {
        if (!id->is_string() || id->get_ref<const std::string&>().empty()) {
            metrics_.count_refusal(refusal::bad_request);
            co_return error_reply(400, refusal::bad_request, "id: not a non-empty string");
        }
        key = id->get<std::string>();
    }
    auto decoded = decode_client_message(submitter_.registry(), call.who, name->get_ref<const std::string&>(), *data);
    if (auto* refused = std::get_if<message_refusal>(&decoded)) {
        metrics_.count_refusal(refused->code);
        co_return error_reply(refused->code == refusal::forbidden ? 403 : 422, refused->code, refused->message);
    }
    // Named: GCC 12 mishandles an aggregate temporary inside a co_await (see submitter::submit_and_wait).
    cascade::submit_options options{.key = std::move(key), .principal = call.who.principal};
    auto result =
        co_await submitter_.submit_and_wait(std::get<cascade::any_message>(std::move(decoded)), std::move(options));
    if (!result.outcome) {
        co_return refused(result.admission);
    }
    co_return json_reply(200, outcome_json(*result.outcome, result.seqs));
}

boost::asio::awaitable<http_reply> http_router::retry_dead_letter(std::uint64_t letter, const caller& who) {
    if (const auto name = letter_name(letter); name && !who.grants.may_submit(*name)) {
        metrics_.count_refusal(refusal::forbidden);
        co_return error_reply(403, refusal::forbidden,
                              "retrying a " + *name + " needs a token whose cascade.submit allows " + *name);
    }
    auto result = co_await submitter_.retry_and_wait(letter);
    if (!result) {
        co_return not_found("no dead letter " + std::to_string(letter));
    }
    if (!result->outcome) {
        co_return refused(result->admission);
    }
    co_return json_reply(200, outcome_json(*result->outcome, result->seqs));
}

http_reply http_router::recorded_message(const caller& who, std::string_view key) const {
    const auto& bus = submitter_.bus();
    if (!bus.journaled()) {
        return not_found("this server keeps no journal (--store memory): outcomes are not kept");
    }
    const auto known = submitter_.find_submit(who.principal, key);
    if (!known) {
        return not_found("no submit with id " + std::string{key});
    }
    json body{{"id", key},
              {"message_id", std::to_string(known->submit.id)},
              {"name", known->submit.message.name()},
              {"state", known->finished ? "done" : "running"}};
    if (!known->finished) {
        return json_reply(202, body);
    }
    body.update(outcome_json(*known->finished));
    return json_reply(200, body);
}

http_reply http_router::refused(cascade::admission admission) {
    const auto code = code_of(admission);
    metrics_.count_refusal(code);
    if (code == refusal::duplicate_id) {
        return error_reply(409, code, "id: names another message already; ids are idempotency keys");
    }
    // Both refusals mean "try again later".
    return error_reply(503, code,
                       code == refusal::overloaded ? "the bus is full; try again" : "the server is shutting down");
}

std::optional<std::string> http_router::letter_name(std::uint64_t letter) const {
    const auto letters = submitter_.bus().dead_letters();
    const auto it = std::ranges::find(letters, letter, &cascade::dead_letter::id);
    return it == letters.end() ? std::nullopt : std::optional<std::string>{it->message.name()};
}

http_reply http_router::dead_letters(const caller& who) const {
    auto letters = json::array();
    for (const auto& letter : submitter_.bus().dead_letters()) {
        // A letter holds its message: shown to whoever may see such messages in the live feed.
        if (who.grants.may_subscribe(letter.message.name())) {
            letters.push_back(cascade::to_json(letter));
        }
    }
    return json_reply(200, letters);
}

http_reply http_router::catalog() const {
    return json_reply(200, {{"messages", protocol::catalog_entries(submitter_.bus().catalog())}});
}

http_reply http_router::health() const {
    const bool up = submitter_.accepting();
    return json_reply(up ? 200 : 503, {{"status", up ? "ok" : "draining"}});
}

http_reply http_router::metrics() const {
    return {.status = 200,
            .content_type = "text/plain; version=0.0.4; charset=utf-8",
            .body = format_prometheus(submitter_.bus().metrics(), metrics_)};
}

}  // namespace gateway
