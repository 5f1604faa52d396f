#include "admission.hpp"

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/error.hpp>

#include <algorithm>
#include <optional>
#include <utility>

namespace cascade::detail {

namespace asio = boost::asio;

namespace {

/// Waiters hop to their own executors themselves (see room_waiter): called inline, outside the lock.
void wake(room_waiter waiter, boost::system::error_code ec) {
    std::move(waiter)(ec);
}

}  // namespace

/// Installed in a waiter's cancellation slot: takes the waiter out, if it is still waiting.
class admission_control::cancel_wait {
public:
    cancel_wait(std::shared_ptr<wait_list> list, std::uint64_t key) noexcept : list_{std::move(list)}, key_{key} {}

    void operator()(asio::cancellation_type type) {
        if ((type & (asio::cancellation_type::terminal | asio::cancellation_type::partial |
                     asio::cancellation_type::total)) == asio::cancellation_type::none) {
            return;
        }
        std::optional<room_waiter> cancelled;
        {
            const std::scoped_lock lock{list_->mutex};
            auto& waiters = list_->waiters;
            const auto it = std::ranges::find(waiters, key_, &waiter::key);
            if (it == waiters.end()) {
                return;  // already woken: its completion is on its way
            }
            cancelled.emplace(std::move(it->handler));
            waiters.erase(it);
            list_->count.store(waiters.size(), std::memory_order_seq_cst);
        }
        wake(std::move(*cancelled), asio::error::operation_aborted);
    }

private:
    std::shared_ptr<wait_list> list_;
    std::uint64_t key_;
};

admission_control::admission_control(std::size_t capacity)
    : capacity_{std::max<std::size_t>(1, capacity)}, list_{std::make_shared<wait_list>()} {}

bool admission_control::try_acquire() noexcept {
    auto current = in_use_.load(std::memory_order_relaxed);
    do {
        if (current >= capacity_) {
            return false;
        }
    } while (!in_use_.compare_exchange_weak(current, current + 1, std::memory_order_seq_cst));
    return true;
}

void admission_control::acquire_unchecked(std::size_t n) noexcept {
    in_use_.fetch_add(n, std::memory_order_relaxed);
}

std::size_t admission_control::release(std::size_t n) noexcept {
    // seq_cst here and in async_wait: each side writes one variable and then reads the other,
    // which only sequential consistency makes safe against a missed wake-up.
    const auto left = in_use_.fetch_sub(n, std::memory_order_seq_cst) - n;
    // Above the mark a release wakes nobody, so it does not take the waiters' lock either.
    if (left <= low_water() && list_->count.load(std::memory_order_seq_cst) != 0) {
        wake_all();
    }
    return left;
}

void admission_control::async_wait(room_waiter handler) {
    auto slot = asio::get_associated_cancellation_slot(handler);
    bool registered = false;
    {
        const std::scoped_lock lock{list_->mutex};
        if (!list_->closed) {
            registered = true;
            const auto key = list_->next_key++;
            if (slot.is_connected()) {
                slot.template emplace<cancel_wait>(list_, key);
            }
            list_->waiters.push_back({.key = key, .handler = std::move(handler)});
            list_->count.store(list_->waiters.size(), std::memory_order_seq_cst);
        }
    }
    if (!registered) {  // closed: nothing to wait for
        wake(std::move(handler), {});
        return;
    }
    // Registered first, checked second: a release to the low-water mark between the two still
    // finds the waiter. Above the mark it sleeps like the others (waking at every sliver of room
    // is what makes producers thrash); a stall with room wakes it too (bus_core::on_stall).
    if (in_use_.load(std::memory_order_seq_cst) <= low_water()) {
        wake_all();
    }
}

void admission_control::wake_if_room() {
    if (list_->count.load(std::memory_order_seq_cst) != 0 && has_room()) {
        wake_all();
    }
}

void admission_control::close() {
    {
        const std::scoped_lock lock{list_->mutex};
        list_->closed = true;
    }
    wake_all();
}

void admission_control::wake_all() {
    std::vector<waiter> woken;
    {
        const std::scoped_lock lock{list_->mutex};
        woken.swap(list_->waiters);
        list_->count.store(0, std::memory_order_seq_cst);
    }
    for (auto& w : woken) {
        wake(std::move(w.handler), {});
    }
}

}  // namespace cascade::detail
