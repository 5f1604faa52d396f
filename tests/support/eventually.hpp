#pragma once
// Waiting in tests for what happens on other threads or in other processes.

#include <chrono>
#include <functional>
#include <thread>

namespace test_support {

/// An upper bound for waits (slow, sanitized builds on a busy machine), never a timing claim.
inline constexpr std::chrono::milliseconds generous{std::chrono::seconds{60}};

/// Polls `condition` until it holds; false if it still does not after `timeout`.
[[nodiscard]] inline bool eventually(const std::function<bool()>& condition,
                                     std::chrono::milliseconds timeout = generous) {
    const auto give_up = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > give_up) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds{1});
    }
    return true;
}

}  // namespace test_support
