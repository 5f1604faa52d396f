#pragma once
// The bus: coroutine handlers on a serial lane per aggregate, parallel across aggregates,
// collecting the events each handler raised and feeding them back in until the cascade is done.

#include "cascade/context.hpp"
#include "cascade/dead_letter.hpp"
#include "cascade/message.hpp"
#include "cascade/metrics.hpp"
#include "cascade/outcome.hpp"
#include "cascade/registry.hpp"
#include "cascade/retry.hpp"
#include "cascade/services.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace cascade {

struct bus_options {
    /// Threads of the pool that runs every lane.
    std::size_t threads = std::max(1U, std::thread::hardware_concurrency());
    /// Cap on messages queued or running; submit waits and try_submit refuses beyond it.
    /// Events raised inside an admitted cascade are never refused (that could deadlock it).
    std::size_t max_queued = 65'536;
    /// Shards of the aggregate-to-lane map, each with its own mutex.
    std::size_t shards = 64;
    /// Dead letters kept for listing; the oldest go first.
    std::size_t dead_letter_capacity = 10'000;
    /// Where retry backoffs wait; nullptr means a steady_timer.
    std::shared_ptr<delay_timer> delays;
};

/// The answer to a submission that does not wait.
enum class admission : std::uint8_t { accepted, overloaded, shutting_down };

struct submit_result {
    admission status = admission::accepted;
    message_id id{};  ///< of the admitted message; 0 when refused
    [[nodiscard]] explicit operator bool() const noexcept { return status == admission::accepted; }
};

/// Callbacks of one cascade, called on the bus's threads.
struct cascade_observer {
    /// Each resulting event the moment it is collected; calls for one cascade never overlap
    /// and come in collection order. Keep it short: it runs under the cascade's lock.
    std::function<void(const envelope&)> on_event;
    /// Exactly once, when nothing of the cascade is queued or running.
    std::function<void(outcome)> on_done;
};

/// Thrown by the waiting forms of submission once the bus has stopped accepting.
class bus_closed : public std::runtime_error {
public:
    bus_closed() : std::runtime_error{"the bus is shutting down"} {}
};

namespace detail {
template <class T>
inline constexpr bool is_awaitable_v = false;
template <class T, class E>
inline constexpr bool is_awaitable_v<boost::asio::awaitable<T, E>> = true;

using event_invoker = std::function<boost::asio::awaitable<void>(const void*, context&)>;
using command_invoker = std::function<boost::asio::awaitable<nlohmann::json>(const void*, context&)>;

class bus_core;
}  // namespace detail

/// A handler of M: a callable taking (const M&, context&) and returning an awaitable.
template <class F, class M>
concept handler_of = std::invocable<F&, const M&, context&> &&
                     detail::is_awaitable_v<std::invoke_result_t<F&, const M&, context&>>;

class bus {
public:
    using executor_type = boost::asio::thread_pool::executor_type;

    explicit bus(bus_options options = {});
    /// Stops accepting, cancels what still runs, and joins the pool.
    ~bus();
    bus(const bus&) = delete;
    bus& operator=(const bus&) = delete;
    bus(bus&&) = delete;
    bus& operator=(bus&&) = delete;

    // Registration: before the first submission (std::logic_error after it).

    /// The one handler of command C; its result (any JSON-convertible type, or void) becomes the
    /// cascade's result and its failure fails the cascade. A second handler is a std::logic_error.
    template <command C, handler_of<C> F>
    void handle(std::string handler_name, F handler);

    /// One more handler of event E; its failures are retried by `policy`, then dead-lettered,
    /// without touching the other handlers or the rest of the cascade.
    template <event E, handler_of<E> F>
    void subscribe(std::string handler_name, F handler, retry_policy policy = {});

    /// Makes M decodable by name without giving it a handler.
    template <message M>
    void declare() {
        declare(message_type_of<M>());
    }
    void declare(const message_type& type);

    /// Every message type declared or handled, by wire name.
    [[nodiscard]] const message_registry& registry() const noexcept;

    /// The handlers' dependencies; fill it before the first submission. They outlive the bus's
    /// pool (a handler being torn down may still use them), so an I/O object kept in one must
    /// run on an executor of its own, not on executor().
    [[nodiscard]] services& dependencies() noexcept;

    // Submission.

    /// Admits the message if there is room and the bus accepts; never waits.
    [[nodiscard]] submit_result try_submit(any_message msg, cascade_observer observer = {});

    /// Waits for room, submits, and completes with the cascade's outcome.
    /// `on_event` sees each resulting event as it is collected. Throws bus_closed.
    [[nodiscard]] boost::asio::awaitable<outcome> submit(
        any_message msg, std::function<void(const envelope&)> on_event = {});

    template <message M>
    [[nodiscard]] boost::asio::awaitable<outcome> submit(M msg) {
        return submit(any_message{std::move(msg)});
    }

    /// submit() with any completion token, e.g. boost::asio::use_future outside coroutines.
    template <class CompletionToken>
    auto async_submit(any_message msg, CompletionToken&& token) {
        return boost::asio::co_spawn(executor(), submit(std::move(msg)),
                                     std::forward<CompletionToken>(token));
    }

    /// Completes once the queue has room again, or the bus stops accepting. With try_submit, it
    /// lets a producer that was refused wait without giving up its message.
    [[nodiscard]] boost::asio::awaitable<void> wait_for_room();

    /// Waits for room and submits without tracking the outcome (fire and forget). Throws bus_closed.
    [[nodiscard]] boost::asio::awaitable<message_id> publish(any_message msg);

    // Lifecycle. The blocking calls must not be made from the bus's own threads.

    /// Blocks until nothing is queued or running and every lane is reclaimed, or the timeout
    /// passes; true when idle.
    [[nodiscard]] bool wait_idle(std::chrono::nanoseconds timeout);

    /// New submissions are refused with shutting_down from now on; waiting submitters get bus_closed.
    void stop_accepting() noexcept;

    /// Stops accepting, lets running cascades finish until `deadline`, then cancels the rest.
    /// True when everything finished before the deadline.
    bool shutdown(std::chrono::nanoseconds deadline);

    // Observation.

    [[nodiscard]] metrics_snapshot metrics() const;
    [[nodiscard]] std::vector<dead_letter> dead_letters() const;
    [[nodiscard]] std::size_t active_lanes() const noexcept;
    [[nodiscard]] bool accepting() const noexcept;
    [[nodiscard]] executor_type executor() const noexcept;

private:
    void add_command_handler(const message_type& type, std::string name, detail::command_invoker invoke);
    void add_event_handler(const message_type& type, std::string name, detail::event_invoker invoke,
                           retry_policy policy);

    std::unique_ptr<detail::bus_core> core_;
};

template <command C, handler_of<C> F>
void bus::handle(std::string handler_name, F handler) {
    using result_type = typename std::invoke_result_t<F&, const C&, context&>::value_type;
    static_assert(std::is_void_v<result_type> || std::is_constructible_v<nlohmann::json, result_type>,
                  "a command handler's result must convert to JSON");
    add_command_handler(
        message_type_of<C>(), std::move(handler_name),
        [handler = std::move(handler)](const void* payload,
                                       context& ctx) -> boost::asio::awaitable<nlohmann::json> {
            const auto& cmd = *static_cast<const C*>(payload);
            if constexpr (std::is_void_v<result_type>) {
                co_await std::invoke(handler, cmd, ctx);
                co_return nullptr;
            } else {
                co_return nlohmann::json(co_await std::invoke(handler, cmd, ctx));
            }
        });
}

template <event E, handler_of<E> F>
void bus::subscribe(std::string handler_name, F handler, retry_policy policy) {
    static_assert(std::is_same_v<std::invoke_result_t<F&, const E&, context&>, boost::asio::awaitable<void>>,
                  "an event handler returns boost::asio::awaitable<void>");
    // Not a coroutine itself: the handler's own awaitable is returned, so no extra frame per call.
    add_event_handler(
        message_type_of<E>(), std::move(handler_name),
        [handler = std::move(handler)](const void* payload, context& ctx) {
            return std::invoke(handler, *static_cast<const E*>(payload), ctx);
        },
        policy);
}

}  // namespace cascade
