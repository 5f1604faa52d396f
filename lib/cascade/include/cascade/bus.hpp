#pragma once
// The bus: coroutine handlers on a serial lane per aggregate, parallel across aggregates,
// collecting the events each handler raised and feeding them back in until the cascade is done.

#include "cascade/catalog.hpp"
#include "cascade/context.hpp"
#include "cascade/dead_letter.hpp"
#include "cascade/detail/waiting_submission.hpp"
#include "cascade/journal.hpp"
#include "cascade/message.hpp"
#include "cascade/metrics.hpp"
#include "cascade/outcome.hpp"
#include "cascade/registry.hpp"
#include "cascade/retry.hpp"
#include "cascade/services.hpp"
#include "cascade/submission.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace cascade {

struct bus_options {
    /// Runners started at once: the threads of the bus's own pool, or the parallelism that
    /// `executor` offers.
    std::size_t threads = std::max(1U, std::thread::hardware_concurrency());
    /// Empty: the bus runs on a pool of `threads` threads of its own. Set: it runs on this
    /// executor, which the application already has (an io_context's, say), through a strand of
    /// it; that context must run until the bus is destroyed.
    boost::asio::any_io_executor executor;
    /// Cap on messages queued or running; submit waits and try_submit refuses beyond it.
    /// Events raised inside an admitted cascade are never refused (that could deadlock it):
    /// max_cascade_events bounds them instead.
    std::size_t max_queued = 65'536;
    /// Events raised deeper than this (the submitted message is depth 0) are dropped and fail
    /// their cascade with depth_exceeded.
    std::uint32_t max_depth = 64;
    /// Events a cascade may raise in all; the rest are dropped and fail it with cascade_too_large.
    std::size_t max_cascade_events = 10'000;
    /// Shards of the aggregate-to-lane map, each with its own mutex.
    std::size_t shards = 64;
    /// Dead letters kept for listing; the oldest go first.
    std::size_t dead_letter_capacity = 10'000;
    /// Where retry backoffs wait; nullptr means a steady_timer.
    std::shared_ptr<delay_timer> delays;
};

namespace detail {
template <class T>
inline constexpr bool is_awaitable_v = false;
template <class T, class E>
inline constexpr bool is_awaitable_v<boost::asio::awaitable<T, E>> = true;

using event_invoker = std::function<boost::asio::awaitable<void>(const void*, context&)>;
using command_invoker = std::function<boost::asio::awaitable<nlohmann::json>(const void*, context&)>;
}  // namespace detail

/// A handler of M: a callable taking (const M&, context&) and returning an awaitable.
template <class F, class M>
concept handler_of =
    std::invocable<F&, const M&, context&> && detail::is_awaitable_v<std::invoke_result_t<F&, const M&, context&>>;

class bus {
public:
    using executor_type = boost::asio::any_io_executor;

    explicit bus(bus_options options = {});
    /// Stops accepting and cancels what still runs; every unfinished cascade reports.
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
    /// without touching the other handlers or the rest of the cascade. Its name is unique among
    /// E's handlers (std::logic_error otherwise): a dead letter's retry finds it by name.
    template <event E, handler_of<E> F>
    void subscribe(std::string handler_name, F handler, retry_policy policy = {});

    /// Makes M decodable by name without giving it a handler.
    template <message M>
    void declare() {
        declare(message_type_of<M>());
    }
    void declare(const message_type& type);

    /// Keeps the bus's cascades in `log` (before the first submission; std::logic_error after):
    /// a submitted message is appended before it enters its lane (on_recorded tells when), each
    /// handler's run is recorded with the events it raised before they are routed, and each
    /// outcome is recorded before on_done. Call recover() next.
    void use_journal(std::shared_ptr<journal> log);
    /// Runs again every cascade the journal holds unfinished (a crash, or a shutdown that cut it):
    /// a handler whose run is recorded is not run again, and the events it raised are delivered.
    /// Once, after use_journal: a journaled bus refuses submissions (std::logic_error) until it
    /// has run. Returns the cascades resumed.
    std::size_t recover();
    /// The submit known under an idempotency key, with its outcome once recorded; std::nullopt
    /// when the key is unknown (or the bus keeps no journal).
    [[nodiscard]] std::optional<keyed_submit> find_submit(std::string_view key) const;
    /// Whether the bus keeps a journal, and whether what it keeps survives the process.
    [[nodiscard]] bool journaled() const noexcept;
    [[nodiscard]] bool durable() const noexcept;

    /// Every message type declared or handled, by wire name.
    [[nodiscard]] const message_registry& registry() const noexcept;
    /// Every message type declared or handled, by wire name, with its handlers.
    [[nodiscard]] std::vector<catalog_entry> catalog() const;

    /// The handlers' dependencies; fill it before the first submission. They outlive every
    /// handler run, so an I/O object kept in one may run on executor(). I/O that a handler awaits
    /// on another executor must complete before the bus is destroyed: its completion would resume
    /// the handler on the bus's executor.
    [[nodiscard]] services& dependencies() noexcept;

    // Submission. The waiting forms are asynchronous operations in Asio's style: they complete
    // through the caller's completion token, on the handler's associated executor, and may be
    // cancelled (bind_cancellation_slot, awaitable operators) while they wait for room; once the
    // message is admitted, its cascade runs to its outcome.

    /// Admits the message if there is room and the bus accepts; never waits.
    [[nodiscard]] submit_result try_submit(any_message msg, cascade_observer observer = {});

    /// try_submit with options. A principal is recorded on the envelope (and in the journal) and
    /// every event of the cascade inherits it; it works on every bus. A key is an idempotency key
    /// (on a journaled bus; std::logic_error otherwise): a key the journal knows runs nothing
    /// again. With the same message it is accepted with `replay`, and the observer is told the
    /// recorded cascade (or follows the one running under the key); with another message it is
    /// refused with duplicate_key.
    [[nodiscard]] submit_result try_submit(any_message msg, cascade_observer observer, submit_options options);

    /// Waits for room, submits, and completes with the cascade's outcome: signature
    /// void(std::exception_ptr, outcome); the exception is bus_closed when the bus stops
    /// accepting, or a boost::system::system_error (operation_aborted) when the wait is cancelled.
    /// `on_event` sees each resulting event as it is collected.
    template <class CompletionToken>
    auto async_submit(any_message msg, std::function<void(const envelope&)> on_event, CompletionToken&& token) {
        return boost::asio::async_initiate<CompletionToken, void(std::exception_ptr, outcome)>(
            [](auto handler, detail::bus_core* core, any_message m, std::function<void(const envelope&)> seen) {
                std::make_shared<detail::waiting_submission<decltype(handler), outcome>>(
                    *core, std::move(m), std::move(seen), std::move(handler))
                    ->attempt(*core);
            },
            token, core_.get(), std::move(msg), std::move(on_event));
    }
    template <class CompletionToken>
    auto async_submit(any_message msg, CompletionToken&& token) {
        return async_submit(std::move(msg), {}, std::forward<CompletionToken>(token));
    }

    /// async_submit for coroutines; throws bus_closed, or system_error when cancelled.
    [[nodiscard]] boost::asio::awaitable<outcome> submit(any_message msg,
                                                         std::function<void(const envelope&)> on_event = {}) {
        return async_submit(std::move(msg), std::move(on_event), boost::asio::use_awaitable);
    }
    template <message M>
    [[nodiscard]] boost::asio::awaitable<outcome> submit(M msg) {
        return submit(any_message{std::move(msg)});
    }

    /// Waits for room and submits without tracking the outcome (fire and forget): signature
    /// void(std::exception_ptr, message_id), with the same exceptions as async_submit.
    template <class CompletionToken>
    auto async_publish(any_message msg, CompletionToken&& token) {
        return boost::asio::async_initiate<CompletionToken, void(std::exception_ptr, message_id)>(
            [](auto handler, detail::bus_core* core, any_message m) {
                std::make_shared<detail::waiting_submission<decltype(handler), message_id>>(
                    *core, std::move(m), std::function<void(const envelope&)>{}, std::move(handler))
                    ->attempt(*core);
            },
            token, core_.get(), std::move(msg));
    }
    [[nodiscard]] boost::asio::awaitable<message_id> publish(any_message msg) {
        return async_publish(std::move(msg), boost::asio::use_awaitable);
    }

    /// Completes once the queue has room, or the bus has stopped accepting (signature
    /// void(error_code): operation_aborted when cancelled). With try_submit, it lets a producer
    /// that was refused wait without giving up its message.
    template <class CompletionToken>
    auto async_wait_for_room(CompletionToken&& token) {
        return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code)>(
            [](auto handler, detail::bus_core* core) {
                detail::wait_for_room_on(*core, detail::posting_waiter(std::move(handler), detail::executor_of(*core)));
            },
            token, core_.get());
    }
    /// async_wait_for_room for coroutines; throws system_error when cancelled.
    [[nodiscard]] boost::asio::awaitable<void> wait_for_room() {
        return async_wait_for_room(boost::asio::use_awaitable);
    }

    /// Delivers dead letter `letter` again, to the one handler that gave it up, as a new cascade
    /// whose root is the letter's message (its causation_id the letter's message id); `observer`
    /// sees it as for try_submit. Admitted, the letter leaves the list (failing again makes a new
    /// one); refused (overloaded, shutting_down), it stays. std::nullopt when no letter has that id
    /// (also while another retry of it is being admitted: the letter is out of the list meanwhile).
    [[nodiscard]] std::optional<submit_result> retry_dead_letter(std::uint64_t letter, cascade_observer observer = {});

    // Lifecycle. The blocking calls must not be made from the bus's own threads.

    /// Blocks until nothing is queued or running and every lane is reclaimed, or the timeout
    /// passes; true when idle.
    [[nodiscard]] bool wait_idle(std::chrono::nanoseconds timeout);

    /// New submissions are refused with shutting_down from now on; waiting submitters get bus_closed.
    void stop_accepting() noexcept;

    /// Stops accepting, lets running cascades finish until `deadline`, then cancels the rest: a
    /// lane stops taking messages, the bus's threads stop, and every unfinished cascade reports
    /// at once (cancelled, or unfinished when its submitted message was handled). True when
    /// everything finished before the deadline. The bus takes no work after a cancellation.
    bool shutdown(std::chrono::nanoseconds deadline);

    // Observation.

    [[nodiscard]] metrics_snapshot metrics() const;
    /// The dead letters kept (the newest dead_letter_capacity), oldest first.
    [[nodiscard]] std::vector<dead_letter> dead_letters() const;
    [[nodiscard]] std::size_t active_lanes() const noexcept;
    [[nodiscard]] bool accepting() const noexcept;
    /// Valid for the bus's whole lifetime; after a cancelling shutdown nothing posted to it runs.
    [[nodiscard]] executor_type executor() const noexcept;

private:
    void add_command_handler(const message_type& type, std::string name, detail::command_invoker invoke);
    void add_event_handler(const message_type& type, std::string name, detail::event_invoker invoke,
                           retry_policy policy);

    // Shared: with an executor of the application's, runners keep the core alive until they end.
    std::shared_ptr<detail::bus_core> core_;
};

template <command C, handler_of<C> F>
void bus::handle(std::string handler_name, F handler) {
    using result_type = typename std::invoke_result_t<F&, const C&, context&>::value_type;
    static_assert(std::is_void_v<result_type> || std::is_constructible_v<nlohmann::json, result_type>,
                  "a command handler's result must convert to JSON");
    add_command_handler(
        message_type_of<C>(), std::move(handler_name),
        [handler = std::move(handler)](const void* payload, context& ctx) -> boost::asio::awaitable<nlohmann::json> {
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
