// An HTTP request's method, target and body, answered by the gateway's router with the book's
// routes over a bus with the allocation domain in memory. Whatever the request, the answer is a
// status the routes document, never a 500 (that would be a bug reached by client input), and a
// JSON answer is JSON.
#include "allocation_domain.hpp"
#include "gateway/http_router.hpp"
#include "gateway/live_feed.hpp"
#include "gateway/metrics.hpp"
#include "gateway/submitter.hpp"

#include <cascade/bus.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace {

void require(bool holds) {
    if (!holds) {
        __builtin_trap();
    }
}

/// One bus and router for the whole run: building them per input would measure start-up only.
struct server_under_test {
    cascade::bus bus{cascade::bus_options{.threads = 1}};
    cascade_server::app_domain domain = cascade_server::load_allocation_domain(
        bus, {.store = cascade_server::store_choice::memory, .db_path = {}, .notifications_path = "/dev/null"});
    gateway::submitter submitter{bus, std::make_shared<gateway::live_feed>()};
    gateway::gateway_metrics metrics;
    gateway::http_router router{submitter, metrics, domain.http_routes};
    boost::asio::io_context io;
};

/// Splits "METHOD\nTARGET\nBODY".
std::optional<gateway::http_call> call_of(std::string_view input) {
    const auto first = input.find('\n');
    const auto second = first == std::string_view::npos ? first : input.find('\n', first + 1);
    if (second == std::string_view::npos) {
        return std::nullopt;
    }
    return gateway::http_call{.method = std::string{input.substr(0, first)},
                              .target = std::string{input.substr(first + 1, second - first - 1)},
                              .body = std::string{input.substr(second + 1)},
                              .json = {},
                              .who = gateway::caller::anyone()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static server_under_test server;
    auto call = call_of({reinterpret_cast<const char*>(data), size});
    if (!call) {
        return 0;
    }
    std::optional<gateway::http_reply> reply;
    boost::asio::co_spawn(
        server.io, [&]() -> boost::asio::awaitable<void> { reply = co_await server.router.handle(std::move(*call)); },
        [](const std::exception_ptr& e) {
            if (e) {
                std::rethrow_exception(e);  // handle() promises not to throw
            }
        });
    server.io.restart();
    server.io.run();
    require(reply.has_value());
    constexpr std::array documented{200U, 201U, 202U, 400U, 403U, 404U, 405U, 409U, 422U, 426U, 503U};
    require(std::find(documented.begin(), documented.end(), reply->status) != documented.end());
    if (reply->content_type == "application/json") {
        require(!nlohmann::json::parse(reply->body, nullptr, /*allow_exceptions=*/false).is_discarded());
    }
    return 0;
}
