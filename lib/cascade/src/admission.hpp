#pragma once
// Admission: the slots of the bus's bound (messages queued or running), and the submitters
// waiting for one. Internal: include only from lib/cascade/src.
//
// Waiters are woken together, never one per freed slot: waking one at a time makes producers
// thrash (wake, submit a few, sleep again), which costs more than the handlers. They are woken
// when the queue has emptied to its low-water mark, and when the bus finds itself stalled with a
// free slot (wake_if_room): a waiter may itself be a handler holding a slot, and then no release
// would ever come. Waking them all, not one per free slot, means a woken waiter that does not
// submit (it was cancelled, or gave up) never strands the others.

#include "cascade/bus.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace cascade::detail {

class admission_control {
public:
    explicit admission_control(std::size_t capacity);

    /// Takes a slot if one is free.
    [[nodiscard]] bool try_acquire() noexcept;
    /// Takes `n` slots whether or not they are free: events raised inside an admitted cascade.
    void acquire_unchecked(std::size_t n) noexcept;
    /// Frees `n` slots; returns how many stay taken.
    std::size_t release(std::size_t n) noexcept;

    /// Calls `waiter` (inline, on the waking thread) once the queue has emptied to its low-water
    /// mark, or wake_if_room() finds a slot free, or it is closed; with operation_aborted when its
    /// cancellation slot is emitted first. Nothing is left behind.
    void async_wait(room_waiter handler);
    /// Wakes every waiter if a slot is free.
    void wake_if_room();
    /// Wakes every waiter; later waits complete at once.
    void close();

    /// Sequentially consistent: idleness checks pair it with try_submit's check of accepting.
    [[nodiscard]] std::size_t in_use() const noexcept { return in_use_.load(std::memory_order_seq_cst); }
    [[nodiscard]] bool has_room() const noexcept { return in_use_.load(std::memory_order_seq_cst) < capacity_; }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    [[nodiscard]] std::size_t waiting() const noexcept { return list_->count.load(std::memory_order_relaxed); }
    /// The number of waiters, to be read where a call would cost too much (every handler entry).
    [[nodiscard]] const std::atomic<std::size_t>& waiting_count() const noexcept { return list_->count; }

private:
    struct waiter {
        std::uint64_t key;
        room_waiter handler;
    };
    /// Shared with the cancellation handlers, which may run after the bus is gone.
    struct wait_list {
        std::mutex mutex;
        std::vector<waiter> waiters;
        std::uint64_t next_key = 0;
        bool closed = false;
        std::atomic<std::size_t> count{0};  ///< waiters.size(), so that a release can skip the lock
    };
    class cancel_wait;

    /// Three quarters of the capacity, and always below it.
    [[nodiscard]] std::size_t low_water() const noexcept { return capacity_ - std::max<std::size_t>(1, capacity_ / 4); }
    void wake_all();

    std::size_t capacity_;
    alignas(64) std::atomic<std::size_t> in_use_{0};
    std::shared_ptr<wait_list> list_;
};

}  // namespace cascade::detail
