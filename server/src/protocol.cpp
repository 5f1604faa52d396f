#include "gateway/protocol.hpp"

#include "gateway/json_parse.hpp"
#include "gateway/version.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

namespace gateway::protocol {
namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

request_error bad_request(std::string message, std::optional<std::string> re = std::nullopt) {
    return {.code = refusal::bad_request, .message = std::move(message), .re = std::move(re)};
}

/// The id of a frame, or the reason it has none that can be used.
std::variant<std::string, request_error> read_id(const json& frame) {
    const auto it = frame.find("id");
    if (it == frame.end()) {
        return bad_request("id: missing");
    }
    if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
        return bad_request("id: must be a non-empty string");
    }
    return it->get<std::string>();
}

/// A required string field; `std::nullopt` when it is missing or mistyped (error filled in).
std::optional<std::string> read_string(const json& frame, const char* field, const std::string& id,
                                       request_error& error) {
    const auto it = frame.find(field);
    if (it == frame.end()) {
        error = bad_request(std::string{field} + ": missing", id);
        return std::nullopt;
    }
    if (!it->is_string()) {
        error = bad_request(std::string{field} + ": must be a string", id);
        return std::nullopt;
    }
    return it->get<std::string>();
}

/// An optional array of strings (absent or null means "any").
std::optional<std::vector<std::string>> read_string_list(const json& frame, const char* field, const std::string& id,
                                                         request_error& error) {
    const auto it = frame.find(field);
    std::vector<std::string> values;
    if (it == frame.end() || it->is_null()) {
        return values;
    }
    if (!it->is_array()) {
        error = bad_request(std::string{field} + ": must be an array of strings", id);
        return std::nullopt;
    }
    if (it->size() > max_filter_entries) {
        error = request_error{
            .code = refusal::limit_exceeded,
            .message = std::string{field} + ": more than " + std::to_string(max_filter_entries) + " entries",
            .re = id};
        return std::nullopt;
    }
    values.reserve(it->size());
    for (const auto& value : *it) {
        if (!value.is_string()) {
            error = bad_request(std::string{field} + ": must be an array of strings", id);
            return std::nullopt;
        }
        values.push_back(value.get<std::string>());
    }
    return values;
}

/// An optional field holding a JSON integer from `least` up.
std::optional<std::optional<std::uint64_t>> read_count(const json& frame, const char* field, std::uint64_t least,
                                                       const std::string& id, request_error& error) {
    const auto it = frame.find(field);
    if (it == frame.end() || it->is_null()) {
        return std::optional<std::uint64_t>{};
    }
    if (!it->is_number_unsigned() || it->get<std::uint64_t>() < least) {
        error = bad_request(std::string{field} + ": must be an integer from " + std::to_string(least) + " up", id);
        return std::nullopt;
    }
    return std::optional{it->get<std::uint64_t>()};
}

/// Where a subscription starts: `from_seq` (with the log's `epoch`, optional), `from: "earliest"`,
/// or, with neither, now.
std::optional<log_start> read_start(const json& frame, const std::string& id, request_error& error) {
    const auto from_seq = read_count(frame, "from_seq", 1, id, error);  // seqs start at 1
    const auto epoch = from_seq ? read_count(frame, "epoch", 0, id, error) : std::nullopt;
    if (!from_seq || !epoch) {
        return std::nullopt;
    }
    if (*epoch && !*from_seq) {
        error = bad_request("epoch: only with from_seq (the log that seq belongs to)", id);
        return std::nullopt;
    }
    const auto from = frame.find("from");
    const bool earliest = from != frame.end() && !from->is_null();
    if (earliest && *from != "earliest") {
        error = bad_request(R"(from: must be "earliest" (or use from_seq))", id);
        return std::nullopt;
    }
    if (earliest && *from_seq) {
        error = bad_request("from, from_seq: give one of them", id);
        return std::nullopt;
    }
    if (earliest) {
        return log_start{.from = log_start::point::earliest, .seq = 0, .epoch = std::nullopt};
    }
    if (*from_seq) {
        return log_start{.from = log_start::point::seq, .seq = **from_seq, .epoch = *epoch};
    }
    return log_start{};
}

parse_result parse_submit(json& frame, std::string id) {
    request_error error;
    auto name = read_string(frame, "name", id, error);
    if (!name) {
        return error;
    }
    const auto data = frame.find("data");
    if (data == frame.end()) {
        return bad_request("data: missing", id);
    }
    if (!data->is_object()) {
        return bad_request("data: must be an object", id);
    }
    // The frame is ours: its data moves into the request instead of being copied.
    return request{submit_request{.id = std::move(id), .name = std::move(*name), .data = std::move(*data)}};
}

parse_result parse_subscribe(const json& frame, std::string id) {
    request_error error;
    auto names = read_string_list(frame, "names", id, error);
    if (!names) {
        return error;
    }
    auto aggregates = read_string_list(frame, "aggregates", id, error);
    if (!aggregates) {
        return error;
    }
    auto start = read_start(frame, id, error);
    if (!start) {
        return error;
    }
    return request{subscribe_request{
        .id = std::move(id), .names = std::move(*names), .aggregates = std::move(*aggregates), .start = *start}};
}

parse_result parse_unsubscribe(const json& frame, std::string id) {
    request_error error;
    auto sub = read_string(frame, "sub", id, error);
    if (!sub) {
        return error;
    }
    return request{unsubscribe_request{.id = std::move(id), .sub = std::move(*sub)}};
}

/// Appends `text` as a JSON string. Plain printable ASCII, which ids, names and aggregates
/// almost always are, is copied as is; anything else is escaped by nlohmann's serialiser.
void append_string(std::string& out, std::string_view text) {
    const bool plain = std::ranges::all_of(text, [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
    if (plain) {
        out += '"';
        out += text;
        out += '"';
    } else {
        out += dump(json(text));
    }
}

/// Appends a number as the JSON string that every id is on the wire.
void append_id(std::string& out, std::uint64_t id) {
    out += '"';
    out += std::to_string(id);
    out += '"';
}

/// The error frame's object, for callers that add fields of their own.
ordered_json error_object(std::string_view re, refusal code, std::string_view message) {
    ordered_json frame;
    frame["type"] = "error";
    if (!re.empty()) {
        frame["re"] = re;
    }
    frame["code"] = to_string(code);
    frame["message"] = message;
    frame["retryable"] = retryable(code);
    return frame;
}

/// The common head of every reply: {"type":type,"re":re — left open for the caller's fields.
std::string reply_head(std::string_view type, std::string_view re) {
    std::string frame = R"({"type":")";
    frame += type;
    frame += R"(","re":)";
    append_string(frame, re);
    return frame;
}

}  // namespace

parse_result parse_request(std::string_view text, const json_limits& limits) {
    auto parsed = parse_json(text, limits);
    if (parsed.refused == parsed_json::problem::over_limit) {
        return request_error{.code = refusal::limit_exceeded, .message = "frame refused: " + parsed.error, .re = {}};
    }
    if (!parsed) {
        return bad_request("frame is not valid JSON");
    }
    json& frame = *parsed.document;
    if (!frame.is_object()) {
        return bad_request("frame must be a JSON object");
    }
    const auto type = frame.find("type");
    if (type == frame.end()) {
        return bad_request("type: missing");
    }
    if (!type->is_string()) {
        return bad_request("type: must be a string");
    }
    auto id = read_id(frame);
    if (auto* error = std::get_if<request_error>(&id)) {
        return std::move(*error);
    }
    auto& request_id = std::get<std::string>(id);
    const auto& kind = type->get_ref<const std::string&>();
    if (kind == "submit") {
        return parse_submit(frame, std::move(request_id));
    }
    if (kind == "subscribe") {
        return parse_subscribe(frame, std::move(request_id));
    }
    if (kind == "unsubscribe") {
        return parse_unsubscribe(frame, std::move(request_id));
    }
    if (kind == "ping") {
        return request{ping_request{.id = std::move(request_id)}};
    }
    if (kind == "catalog") {
        return request{catalog_request{.id = std::move(request_id)}};
    }
    return bad_request("type: unknown frame type '" + kind + "'", std::move(request_id));
}

const std::string& id_of(const request& req) noexcept {
    return std::visit([](const auto& r) -> const std::string& { return r.id; }, req);
}

std::string dump(const json& value) {
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string dump(const ordered_json& value) {
    return value.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

std::string welcome_frame(std::string_view session, const announced_limits& limits, const announced_server& server) {
    ordered_json frame;
    frame["type"] = "welcome";
    frame["protocol"] = version;
    frame["server"] = server_version;
    frame["session"] = session;
    frame["durable"] = server.durable;
    frame["epoch"] = server.log_epoch;
    frame["last_seq"] = server.last_seq;
    if (!server.principal.empty()) {
        frame["principal"] = server.principal;
    }
    if (server.expires_at) {
        frame["expires_at"] = server.expires_at->time_since_epoch().count();
    }
    frame["limits"] = {{"max_frame_bytes", limits.max_frame_bytes},     {"max_in_flight", limits.max_in_flight},
                       {"max_queued_frames", limits.max_queued_frames}, {"max_queued_bytes", limits.max_queued_bytes},
                       {"max_subscriptions", limits.max_subscriptions}, {"submit_rate", limits.submit_rate}};
    return dump(frame);
}

// The frames sent for every submit are written directly: building a JSON document for each was
// a tenth of the gateway's CPU time.

std::string ack_frame(std::string_view re, cascade::message_id id, bool replay) {
    auto frame = reply_head("ack", re);
    frame += R"(,"message_id":)";
    append_id(frame, id);  // a string, like every id on the wire
    frame += replay ? R"(,"replay":true})" : "}";
    return frame;
}

std::string event_frame(std::string_view re, std::uint64_t n, std::uint64_t seq, std::string_view event_body) {
    // The event object is spliced in already serialised: one dump per event, not two.
    auto frame = reply_head("event", re);
    frame += R"(,"n":)";
    frame += std::to_string(n);
    if (seq != 0) {
        frame += R"(,"seq":)";
        frame += std::to_string(seq);
    }
    frame += R"(,"event":)";
    frame += event_body;
    frame += '}';
    return frame;
}

std::string done_frame(std::string_view re, const cascade::outcome& outcome) {
    auto frame = reply_head("done", re);
    frame += R"(,"status":")";
    frame += cascade::to_string(outcome.status);
    frame += R"(","result":)";
    frame += dump(outcome.result);
    frame += R"(,"events":)";
    frame += std::to_string(outcome.events.size());
    frame += R"(,"dropped":)";
    frame += std::to_string(outcome.dropped);
    frame += R"(,"errors":[)";
    for (const auto& error : outcome.errors) {
        if (frame.back() != '[') {
            frame += ',';
        }
        frame += R"({"handler":)";
        append_string(frame, error.handler);
        frame += R"(,"code":)";
        append_string(frame, error.code);
        frame += R"(,"message":)";
        append_string(frame, error.message);
        frame += '}';
    }
    frame += "]}";
    return frame;
}

std::string error_frame(std::string_view re, refusal code, std::string_view message) {
    return dump(error_object(re, code, message));
}

std::string subscribed_frame(std::string_view re, std::uint64_t epoch, std::uint64_t start_seq,
                             const std::vector<std::string>& names) {
    auto frame = reply_head("subscribed", re);
    frame += R"(,"epoch":)";
    frame += std::to_string(epoch);
    frame += R"(,"from_seq":)";
    frame += std::to_string(start_seq);
    if (!names.empty()) {
        frame += R"(,"names":[)";
        for (std::size_t i = 0; i < names.size(); ++i) {
            if (i != 0) {
                frame += ',';
            }
            append_string(frame, names[i]);
        }
        frame += ']';
    }
    frame += '}';
    return frame;
}

std::string rate_limited_frame(std::string_view re, std::string_view message, std::chrono::milliseconds retry_after) {
    auto frame = error_object(re, refusal::rate_limited, message);
    frame["retry_after_ms"] = std::max<std::int64_t>(retry_after.count(), 1);
    return dump(frame);
}

std::string offset_error_frame(std::string_view re, refusal code, std::string_view message, std::uint64_t epoch,
                               std::uint64_t oldest_seq, std::uint64_t last_seq) {
    auto frame = error_object(re, code, message);
    frame["epoch"] = epoch;
    frame["oldest_seq"] = oldest_seq;
    frame["last_seq"] = last_seq;
    return dump(frame);
}

std::string unsubscribed_frame(std::string_view re, std::string_view sub) {
    auto frame = reply_head("unsubscribed", re);
    frame += R"(,"sub":)";
    append_string(frame, sub);
    frame += '}';
    return frame;
}

std::string pong_frame(std::string_view re) {
    return reply_head("pong", re) + '}';
}

json catalog_entries(const std::vector<cascade::catalog_entry>& catalog) {
    auto messages = json::array();
    for (const auto& [type, handlers] : catalog) {
        messages.push_back({{"name", type->name},
                            {"kind", cascade::to_string(type->kind)},
                            {"from_edge", type->from_edge},
                            {"aggregate", type->aggregate_field.empty() ? json(nullptr) : json(type->aggregate_field)},
                            {"handlers", handlers},
                            {"schema", type->schema()}});
    }
    return messages;
}

std::string catalog_frame(std::string_view re, const std::vector<cascade::catalog_entry>& catalog) {
    ordered_json frame;
    frame["type"] = "catalog";
    frame["re"] = re;
    frame["messages"] = catalog_entries(catalog);
    return dump(frame);
}

std::string disconnect_frame(std::uint16_t code, std::string_view reason) {
    ordered_json frame;
    frame["type"] = "disconnect";
    frame["code"] = code;
    frame["reason"] = reason;
    return dump(frame);
}

std::string event_body(const cascade::envelope& event) {
    // The fields of cascade::to_json(envelope), in the order a reader expects them.
    std::string body = R"({"id":)";
    append_id(body, event.id);
    body += R"(,"name":)";
    append_string(body, event.name());
    body += R"(,"aggregate":)";
    append_string(body, event.aggregate());
    body += R"(,"causation_id":)";
    if (event.causation_id == 0) {
        body += "null";
    } else {
        append_id(body, event.causation_id);
    }
    body += R"(,"correlation_id":)";
    append_id(body, event.correlation_id);
    body += R"(,"depth":)";
    body += std::to_string(event.depth);
    body += R"(,"timestamp_ms":)";
    body += std::to_string(
        std::chrono::duration_cast<std::chrono::milliseconds>(event.timestamp.time_since_epoch()).count());
    if (!event.principal.empty()) {
        body += R"(,"principal":)";
        append_string(body, event.principal);
    }
    body += R"(,"data":)";
    body += dump(event.message.data());
    body += '}';
    return body;
}

std::string feed_event_frame(std::string_view sub, std::uint64_t seq, std::string_view event_body) {
    std::string frame = R"({"type":"event","sub":)";
    append_string(frame, sub);
    frame += R"(,"seq":)";
    frame += std::to_string(seq);
    frame += R"(,"event":)";
    frame += event_body;
    frame += '}';
    return frame;
}

}  // namespace gateway::protocol
