#include "gateway/submitter.hpp"

#include <boost/asio/append.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>
#include <utility>

namespace gateway {

namespace net = boost::asio;

cascade::submit_result submitter::submit(cascade::any_message msg, cascade::cascade_observer observer) {
    if (!accepting()) {
        return {.status = cascade::admission::shutting_down, .id = 0};
    }
    observer.on_event = [feed = feed_, inner = std::move(observer.on_event)](const cascade::envelope& event) {
        // The submitter's own frames first: its ack then precedes any feed copy of its events.
        if (inner) {
            inner(event);
        }
        feed->publish(event);
    };
    return bus_.try_submit(std::move(msg), std::move(observer));
}

net::awaitable<submission> submitter::submit_and_wait(cascade::any_message msg) {
    auto initiate = [this](auto handler, cascade::any_message m) {
        // std::function needs a copyable callable: share the move-only handler.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        // Resumes the waiting coroutine on its own executor, never on the bus's threads.
        auto complete = [shared](submission result) { net::post(net::append(std::move(*shared), std::move(result))); };
        const auto admitted = submit(
            std::move(m), {.on_event = {}, .on_done = [complete](cascade::outcome outcome) {
                               complete({.admission = cascade::admission::accepted, .outcome = std::move(outcome)});
                           }});
        if (!admitted) {
            complete({.admission = admitted.status, .outcome = std::nullopt});
        }
    };
    co_return co_await net::async_initiate<const net::use_awaitable_t<>&, void(submission)>(
        std::move(initiate), net::use_awaitable, std::move(msg));
}

}  // namespace gateway
