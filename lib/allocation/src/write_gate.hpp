#pragma once
// The SQLite store's in-process writer lock. Internal: include only from lib/allocation/src.

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace allocation::detail {

/// One writer at a time in this process. Not a std::mutex: a unit of work may end on another
/// thread than the one that began it (coroutines move between the pool's threads).
class write_gate {
public:
    [[nodiscard]] bool try_acquire_for(std::chrono::milliseconds timeout) {
        std::unique_lock lock{mutex_};
        if (!released_.wait_for(lock, timeout, [this] { return !taken_; })) {
            return false;
        }
        taken_ = true;
        return true;
    }

    void release() noexcept {
        {
            const std::scoped_lock lock{mutex_};
            taken_ = false;
        }
        released_.notify_one();
    }

private:
    std::mutex mutex_;
    std::condition_variable released_;
    bool taken_ = false;
};

}  // namespace allocation::detail
