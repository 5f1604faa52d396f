// The book's routes (chapter 4's Flask app, chapter 12's read model) over the gateway.
#include "allocation_domain.hpp"

#include <allocation/bootstrap.hpp>
#include <gateway/client_message.hpp>

#include <charconv>
#include <string_view>

namespace cascade_server {

using gateway::http_call;
using gateway::http_reply;
using gateway::json_reply;
using gateway::submitter;
namespace {

using json = nlohmann::json;
namespace net = boost::asio;

http_reply message_reply(unsigned status, std::string_view message) {
    return json_reply(status, {{"message", message}});
}

/// Decodes the body as the message `name` and submits it; a reply when that fails, else the outcome.
net::awaitable<std::variant<http_reply, cascade::outcome>> submit_body(submitter& submit, std::string_view name,
                                                                       const http_call& call) {
    const auto parsed = gateway::parse_json(call.body, call.json);
    if (parsed.refused == gateway::parsed_json::problem::over_limit) {
        co_return message_reply(400, "body refused: " + parsed.error);
    }
    if (!parsed || !parsed.document->is_object()) {
        co_return message_reply(400, "body must be a JSON object");
    }
    const json& data = *parsed.document;
    auto decoded = gateway::decode_client_message(submit.registry(), call.who, name, data);
    if (auto* refused = std::get_if<gateway::message_refusal>(&decoded)) {
        co_return message_reply(refused->code == gateway::protocol::refusal::forbidden ? 403 : 400, refused->message);
    }
    // Named: GCC 12 mishandles an aggregate temporary inside a co_await (see submitter::submit_and_wait).
    cascade::submit_options options{.key = {}, .principal = call.who.principal};
    auto result =
        co_await submit.submit_and_wait(std::get<cascade::any_message>(std::move(decoded)), std::move(options));
    if (!result.outcome) {
        co_return message_reply(
            503, result.admission == cascade::admission::overloaded ? "overloaded, try again" : "shutting down");
    }
    co_return std::move(*result.outcome);
}

/// The command's failure message ("Invalid sku X"), as the book's API returns it.
std::string failure_message(const cascade::outcome& outcome) {
    return outcome.errors.empty() ? std::string{"failed"} : outcome.errors.front().message;
}

net::awaitable<http_reply> add_batch(submitter& submit, const http_call& call) {
    auto submitted = co_await submit_body(submit, "BatchCreated", call);
    if (auto* reply = std::get_if<http_reply>(&submitted)) {
        co_return std::move(*reply);
    }
    const auto& outcome = std::get<cascade::outcome>(submitted);
    if (outcome.status == cascade::cascade_status::failed) {
        co_return message_reply(400, failure_message(outcome));
    }
    co_return message_reply(201, "OK");
}

net::awaitable<http_reply> allocate(submitter& submit, const http_call& call) {
    auto submitted = co_await submit_body(submit, "AllocationRequired", call);
    if (auto* reply = std::get_if<http_reply>(&submitted)) {
        co_return std::move(*reply);
    }
    const auto& outcome = std::get<cascade::outcome>(submitted);
    if (outcome.status == cascade::cascade_status::failed) {
        co_return message_reply(400, failure_message(outcome));
    }
    co_return json_reply(202, {{"batchref", outcome.result}});
}

http_reply allocations(const allocation::application& app, std::string_view orderid) {
    if (orderid.empty()) {
        return message_reply(404, "not found");
    }
    auto view = app.allocations(orderid);
    if (!view) {
        return message_reply(404, "not found");
    }
    return json_reply(200, *view);
}

}  // namespace

app_domain load_allocation_domain(cascade::bus& bus, const domain_options& options) {
    auto app =
        allocation::bootstrap(bus, {.store = options.store == store_choice::memory ? allocation::store_kind::memory
                                                                                   : allocation::store_kind::sqlite,
                                    .db_path = options.db_path,
                                    .sync = options.sync,
                                    .notifications_path = options.notifications_path,
                                    .notifier = nullptr,
                                    .journal = true,
                                    .group_commit_records = options.group_commit_records});
    gateway::routes book = [app](const http_call& call,
                                 submitter& submit) -> net::awaitable<std::optional<http_reply>> {
        const std::string_view target{call.target};
        const auto path = target.substr(0, target.find('?'));
        constexpr std::string_view allocations_prefix = "/allocations/";
        if (path == "/add_batch" && call.method == "POST") {
            co_return co_await add_batch(submit, call);
        }
        if (path == "/allocate" && call.method == "POST") {
            co_return co_await allocate(submit, call);
        }
        if (path.starts_with(allocations_prefix) && call.method == "GET") {
            co_return allocations(*app, path.substr(allocations_prefix.size()));
        }
        co_return std::nullopt;
    };
    std::string description =
        options.store == store_choice::memory
            ? std::string{"allocation domain, in-memory store, not durable"}
            : "allocation domain, SQLite store and journal " + options.db_path.string() +
                  (options.sync == allocation::sqlite_sync::full ? " (synchronous FULL)" : " (synchronous NORMAL)");
    const auto resumed = app->resumed();
    return {.state = std::move(app),
            .http_routes = std::move(book),
            .description = std::move(description),
            .resumed = resumed};
}

}  // namespace cascade_server
