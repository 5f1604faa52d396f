#pragma once
// Small messages and helpers shared by the bus tests.

#include <cascade/bus.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <functional>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>

namespace test_domain {

namespace asio = boost::asio;
using cascade::message_kind;

/// A command whose handler answers `value * 2` and raises one `noted` per `raise` count.
struct double_it {
    static constexpr std::string_view name = "DoubleIt";
    static constexpr message_kind kind = message_kind::command;
    std::string key;
    int value{};
    int raise{};
    [[nodiscard]] std::string_view aggregate() const noexcept { return key; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(double_it, key, value, raise)

/// An event on any aggregate, with a sequence number.
struct noted {
    static constexpr std::string_view name = "Noted";
    static constexpr message_kind kind = message_kind::event;
    std::string key;
    int seq{};
    [[nodiscard]] std::string_view aggregate() const noexcept { return key; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(noted, key, seq)

/// An event that its handler turns into `remaining` more hops, each on the next key.
struct hop {
    static constexpr std::string_view name = "Hop";
    static constexpr message_kind kind = message_kind::event;
    std::string key;
    int remaining{};
    [[nodiscard]] std::string_view aggregate() const noexcept { return key; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(hop, key, remaining)

/// An event nobody handles.
struct ignored {
    static constexpr std::string_view name = "Ignored";
    static constexpr message_kind kind = message_kind::event;
    std::string key;
    [[nodiscard]] std::string_view aggregate() const noexcept { return key; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ignored, key)

/// A command nobody handles.
struct orphan_command {
    static constexpr std::string_view name = "OrphanCommand";
    static constexpr message_kind kind = message_kind::command;
    std::string key;
    [[nodiscard]] std::string_view aggregate() const noexcept { return key; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(orphan_command, key)

/// Suspends the calling coroutine on a real timer for `d`.
inline asio::awaitable<void> pause(std::chrono::nanoseconds d) {
    asio::steady_timer timer{co_await asio::this_coro::executor, d};
    co_await timer.async_wait(asio::use_awaitable);
}

/// Submits and blocks the test thread until the cascade's outcome arrives.
template <cascade::message M>
[[nodiscard]] cascade::outcome run(cascade::bus& bus, M msg) {
    return bus.async_submit(cascade::any_message{std::move(msg)}, asio::use_future).get();
}

/// Admits the message now (the test fails if it is refused); the future yields its outcome.
template <cascade::message M>
[[nodiscard]] std::future<cascade::outcome> submit_now(cascade::bus& bus, M msg, cascade::submit_options options = {}) {
    auto done = std::make_shared<std::promise<cascade::outcome>>();
    auto result = done->get_future();
    const auto admitted = bus.try_submit(cascade::any_message{std::move(msg)},
                                         {.on_done = [done](cascade::outcome out) { done->set_value(std::move(out)); }},
                                         std::move(options));
    if (!admitted) {
        throw std::runtime_error{"the bus refused a submission the test needed"};
    }
    return result;
}

inline constexpr auto generous = std::chrono::seconds{60};  // an upper bound for waits, never a timing claim

/// Blocks until `done()` holds; false if it still does not after `generous` (never a timing claim).
inline bool eventually(const std::function<bool()>& done) {
    const auto give_up = std::chrono::steady_clock::now() + generous;
    while (!done()) {
        if (std::chrono::steady_clock::now() > give_up) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::microseconds{200});
    }
    return true;
}

/// What handlers wait on until the test opens it; once open, every wait returns at once. Its
/// channel lives in an io_context of its own that never runs: completions go to each waiting
/// coroutine's executor.
class gate {
public:
    void open() { channel_.close(); }
    [[nodiscard]] asio::awaitable<void> wait() {
        (void)co_await channel_.async_receive(asio::as_tuple(asio::use_awaitable));  // ends when closed
    }

private:
    asio::io_context context_;
    asio::experimental::concurrent_channel<void(boost::system::error_code)> channel_{context_, 0};
};

/// An io_context run by a thread of its own for the test's lifetime (the application's context).
class running_context {
public:
    running_context() : guard_{io.get_executor()}, thread_{[this] { io.run(); }} {}
    ~running_context() {
        guard_.reset();
        io.stop();
        thread_.join();
    }
    running_context(const running_context&) = delete;
    running_context& operator=(const running_context&) = delete;

    asio::io_context io;

private:
    asio::executor_work_guard<asio::io_context::executor_type> guard_;
    std::thread thread_;
};

}  // namespace test_domain
