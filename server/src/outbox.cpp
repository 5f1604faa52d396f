#include "gateway/outbox.hpp"

#include <algorithm>
#include <utility>

namespace gateway {

outbox::outbox(queue_limits limits, std::string disconnect_frame)
    : limits_{limits}, disconnect_frame_{std::move(disconnect_frame)} {}

outbox::reservation outbox::reserve_submit(const std::string& id, std::size_t cap) {
    const std::scoped_lock lock{mutex_};
    if (state_ != queue_state::open) {
        return reservation::closed;
    }
    if (requests_.contains(id)) {
        return reservation::duplicate;
    }
    if (submits_ >= cap) {
        return reservation::full;
    }
    requests_.emplace(id, request_kind::submit);
    ++submits_;
    return reservation::reserved;
}

outbox::reservation outbox::reserve_subscription(const std::string& id, std::size_t cap) {
    const std::scoped_lock lock{mutex_};
    if (state_ != queue_state::open) {
        return reservation::closed;
    }
    if (requests_.contains(id)) {
        return reservation::duplicate;
    }
    if (subscriptions_ >= cap) {
        return reservation::full;
    }
    requests_.emplace(id, request_kind::subscription);
    ++subscriptions_;
    return reservation::reserved;
}

bool outbox::is_subscription(const std::string& id) const {
    const std::scoped_lock lock{mutex_};
    const auto it = requests_.find(id);
    return it != requests_.end() && it->second == request_kind::subscription;
}

bool outbox::in_use(const std::string& id) const {
    const std::scoped_lock lock{mutex_};
    return requests_.contains(id);
}

void outbox::release(const std::string& id) {
    const std::scoped_lock lock{mutex_};
    const auto it = requests_.find(id);
    if (it == requests_.end()) {
        return;
    }
    if (it->second == request_kind::submit) {
        --submits_;
    } else {
        --subscriptions_;
    }
    requests_.erase(it);
    if (submits_ == 0) {
        wake_locked();  // a draining session waits for this
    }
}

void outbox::complete_submit(const std::string& id, std::string terminal_frame) {
    // One lock for both: whoever sees the submit gone also finds its terminal frame queued (a
    // draining writer must not close in between), and the id is free once the client reads it.
    const std::scoped_lock lock{mutex_};
    if (const auto it = requests_.find(id); it != requests_.end()) {
        --submits_;
        requests_.erase(it);
    }
    push_locked(std::move(terminal_frame));
}

std::size_t outbox::submits_in_flight() const {
    const std::scoped_lock lock{mutex_};
    return submits_;
}

backlog_budget outbox::backlog_room() const {
    const std::scoped_lock lock{mutex_};
    const auto frames = std::max<std::size_t>(limits_.max_frames / 2, 1);
    const auto bytes = limits_.max_bytes / 2;
    if (state_ != queue_state::open || frames_ >= frames || (frames_ > 0 && bytes_ >= bytes)) {
        return {};
    }
    return {.frames = frames - frames_, .bytes = bytes > bytes_ ? bytes - bytes_ : 0, .empty = frames_ == 0};
}

bool outbox::send(std::string frame) {
    const std::scoped_lock lock{mutex_};
    return push_locked(std::move(frame));
}

bool outbox::push_locked(std::string frame) {
    if (state_ != queue_state::open) {
        return false;
    }
    const auto size = frame.size();
    if (frames_ + 1 > limits_.max_frames || bytes_ + size > limits_.max_bytes) {
        // Slow consumer: what is queued will never be read in time, so drop it and leave only
        // the disconnect frame; frames the writer holds are still counted until written.
        for (const auto& queued : queue_) {
            bytes_ -= queued.size();
        }
        frames_ -= queue_.size();
        queue_.clear();
        queue_.push_back(disconnect_frame_);
        ++frames_;
        bytes_ += disconnect_frame_.size();
        state_ = queue_state::overflowed;
        if (waker_ != nullptr) {
            waker_->overflowed();
        }
        wake_locked();
        return false;
    }
    queue_.push_back(std::move(frame));
    ++frames_;
    bytes_ += size;
    wake_locked();
    return true;
}

bool outbox::end_with(std::string last_frame) {
    const std::scoped_lock lock{mutex_};
    if (state_ != queue_state::open) {
        return false;
    }
    ++frames_;
    bytes_ += last_frame.size();
    queue_.push_back(std::move(last_frame));
    state_ = queue_state::ending;
    wake_locked();
    return true;
}

outbox::queue_state outbox::take(std::vector<std::string>& out) {
    const std::scoped_lock lock{mutex_};
    if (state_ == queue_state::closed) {
        return state_;
    }
    if (queue_.empty()) {
        writer_waiting_ = true;
        return state_;
    }
    out.reserve(out.size() + queue_.size());
    for (auto& frame : queue_) {
        out.push_back(std::move(frame));
    }
    queue_.clear();
    return state_;
}

void outbox::written(std::size_t frames, std::size_t bytes) {
    const std::scoped_lock lock{mutex_};
    frames_ -= std::min(frames, frames_);
    bytes_ -= std::min(bytes, bytes_);
}

void outbox::kick() {
    const std::scoped_lock lock{mutex_};
    wake_locked();
}

bool outbox::quiescent() const {
    const std::scoped_lock lock{mutex_};
    return submits_ == 0 && frames_ == 0;
}

void outbox::close() {
    const std::scoped_lock lock{mutex_};
    state_ = queue_state::closed;
    queue_.clear();
    frames_ = 0;
    bytes_ = 0;
    wake_locked();
}

void outbox::attach(outbox_waker* waker) {
    const std::scoped_lock lock{mutex_};
    waker_ = waker;
}

void outbox::wake_locked() {
    // Only the first event after the writer started waiting rings: one wake-up per idle period.
    if (writer_waiting_ && waker_ != nullptr) {
        writer_waiting_ = false;
        waker_->wake();
    }
}

}  // namespace gateway
