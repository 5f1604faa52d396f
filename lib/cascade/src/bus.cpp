#include "cascade/bus.hpp"

#include "bus_core.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <optional>

namespace cascade {

namespace asio = boost::asio;

bus::bus(bus_options options) : core_{std::make_unique<detail::bus_core>(std::move(options))} {}

bus::~bus() = default;

void bus::declare(const message_type& type) { core_->declare(type); }

const message_registry& bus::registry() const noexcept { return core_->registry; }

services& bus::dependencies() noexcept { return core_->dependencies; }

void bus::add_command_handler(const message_type& type, std::string name, detail::command_invoker invoke) {
    core_->add_command_handler(type, std::move(name), std::move(invoke));
}

void bus::add_event_handler(const message_type& type, std::string name, detail::event_invoker invoke,
                            retry_policy policy) {
    core_->add_event_handler(type, std::move(name), std::move(invoke), policy);
}

submit_result bus::try_submit(any_message msg, cascade_observer observer) {
    return core_->try_submit(std::move(msg), std::move(observer));
}

namespace {

/// Submits once and completes with the outcome, or with nullopt and the refusal at once.
template <class CompletionToken>
auto async_try_submit(detail::bus_core& core, const any_message& msg,
                      const std::function<void(const envelope&)>& on_event, admission& refusal,
                      CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, void(std::optional<outcome>)>(
        [&core, &msg, &on_event, &refusal](auto handler) {
            // std::function needs a copyable target; the handler is move-only.
            auto shared = std::make_shared<decltype(handler)>(std::move(handler));
            auto resume = [shared](std::optional<outcome> result) {
                auto ex = asio::get_associated_executor(*shared);
                asio::post(ex, [shared, result = std::move(result)]() mutable { (*shared)(std::move(result)); });
            };
            const auto admitted =
                core.try_submit(msg, {.on_event = on_event, .on_done = [resume](outcome o) { resume(std::move(o)); }});
            if (!admitted) {
                refusal = admitted.status;
                resume(std::nullopt);
            }
        },
        token);
}

}  // namespace

asio::awaitable<outcome> bus::submit(any_message msg, std::function<void(const envelope&)> on_event) {
    for (;;) {
        auto refusal = admission::accepted;
        auto result = co_await async_try_submit(*core_, msg, on_event, refusal, asio::use_awaitable);
        if (result) {
            co_return std::move(*result);
        }
        if (refusal == admission::shutting_down) {
            throw bus_closed{};
        }
        co_await core_->wait_for_room();
    }
}

asio::awaitable<message_id> bus::publish(any_message msg) {
    for (;;) {
        const auto admitted = core_->try_submit(msg, {});
        if (admitted) {
            co_return admitted.id;
        }
        if (admitted.status == admission::shutting_down) {
            throw bus_closed{};
        }
        co_await core_->wait_for_room();
    }
}

asio::awaitable<void> bus::wait_for_room() { return core_->wait_for_room(); }

bool bus::wait_idle(std::chrono::nanoseconds timeout) { return core_->wait_idle(timeout); }

void bus::stop_accepting() noexcept { core_->stop_accepting(); }

bool bus::shutdown(std::chrono::nanoseconds deadline) { return core_->shutdown(deadline); }

metrics_snapshot bus::metrics() const { return core_->metrics(); }

std::vector<dead_letter> bus::dead_letters() const { return core_->dead_letters(); }

std::size_t bus::active_lanes() const noexcept { return core_->active_lanes(); }

bool bus::accepting() const noexcept { return core_->accepting(); }

bus::executor_type bus::executor() const noexcept { return core_->executor(); }

}  // namespace cascade
