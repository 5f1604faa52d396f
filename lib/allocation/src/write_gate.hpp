#pragma once
// The SQLite store's in-process writer lock. Internal: include only from lib/allocation/src.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace allocation::detail {

/// Who gets the gate when it is released: a waiter that goes first (the WAL checkpointer's
/// short pass) is let in before any normal one, which a thread re-taking the gate in a loop could
/// otherwise keep out for good.
enum class gate_turn : std::uint8_t { normal, first };

/// One writer at a time in this process. Not a std::mutex: a unit of work may end on another
/// thread than the one that began it (coroutines move between the pool's threads).
class write_gate {
public:
    [[nodiscard]] bool try_acquire_for(std::chrono::milliseconds timeout, gate_turn turn = gate_turn::normal) {
        std::unique_lock lock{mutex_};
        if (turn == gate_turn::first) {
            ++first_waiting_;
        }
        const bool acquired = released_.wait_for(
            lock, timeout, [this, turn] { return !taken_ && (turn == gate_turn::first || first_waiting_ == 0); });
        if (turn == gate_turn::first) {
            --first_waiting_;
        }
        if (acquired) {
            taken_ = true;
        } else if (turn == gate_turn::first) {
            released_.notify_all();  // the normal waiters it held back may go
        }
        return acquired;
    }

    void release() noexcept {
        {
            const std::scoped_lock lock{mutex_};
            taken_ = false;
        }
        released_.notify_all();  // waiters differ in what they wait for
    }

private:
    std::mutex mutex_;
    std::condition_variable released_;
    bool taken_ = false;
    std::size_t first_waiting_ = 0;
};

}  // namespace allocation::detail
