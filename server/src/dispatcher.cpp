#include "gateway/dispatcher.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>
#include <utility>

namespace gateway {

namespace net = boost::asio;

cascade::submit_result dispatcher::submit(cascade::any_message msg, cascade::cascade_observer observer) {
    if (!accepting()) {
        return {.status = cascade::admission::shutting_down, .id = 0};
    }
    observer.on_event = [feed = hub_, inner = std::move(observer.on_event)](const cascade::envelope& event) {
        // The submitter's own frames first: its ack then precedes any feed copy of its events.
        if (inner) {
            inner(event);
        }
        feed->publish(event);
    };
    return bus_.try_submit(std::move(msg), std::move(observer));
}

net::awaitable<submission> dispatcher::submit_and_wait(cascade::any_message msg) {
    auto initiate = [this, msg = std::move(msg)](auto handler) mutable {
        using handler_type = decltype(handler);
        // std::function needs a copyable callable: share the move-only handler.
        auto slot = std::make_shared<std::optional<handler_type>>(std::move(handler));
        auto complete = [slot](submission result) {
            auto h = std::move(**slot);
            slot->reset();
            const auto ex = net::get_associated_executor(h);
            // Resume the waiting coroutine on its own executor, never on the bus's threads.
            net::post(ex, [h = std::move(h), result = std::move(result)]() mutable { std::move(h)(std::move(result)); });
        };
        const auto admitted = submit(std::move(msg), {.on_event = {},
                                                      .on_done = [complete](cascade::outcome outcome) {
                                                          complete({.admission = cascade::admission::accepted,
                                                                    .outcome = std::move(outcome)});
                                                      }});
        if (!admitted) {
            complete({.admission = admitted.status, .outcome = std::nullopt});
        }
    };
    co_return co_await net::async_initiate<const net::use_awaitable_t<>&, void(submission)>(std::move(initiate),
                                                                                             net::use_awaitable);
}

void dispatcher::stop_accepting() noexcept {
    accepting_.store(false, std::memory_order_release);
}

}  // namespace gateway
