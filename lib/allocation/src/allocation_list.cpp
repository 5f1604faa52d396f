#include "allocation/allocation_list.hpp"

#include <algorithm>
#include <deque>
#include <mutex>
#include <string_view>
#include <unordered_map>

namespace allocation {

/// Lines in the order they were appended, shared by every copy that descends from one list.
/// Only the copy that has seen all of them appends (any other forks a log of its own), so each
/// copy's lines are a prefix. Copies live on different threads, hence the mutex.
class allocation_list::line_log {
public:
    line_log() = default;
    /// A log holding `lines`, oldest first; nobody else sees it yet, so no lock is taken.
    explicit line_log(std::vector<order_line> lines) {
        for (auto& line : lines) {
            append_locked(std::move(line));
        }
    }
    /// A new log holding the first `count` lines of `source`.
    line_log(const line_log& source, std::size_t count) {
        const std::scoped_lock lock{source.mutex_};
        for (std::size_t i = 0; i < count; ++i) {
            append_locked(source.lines_[i]);
        }
    }

    /// Appends when `seen` is every line the log holds; false when the caller must fork.
    [[nodiscard]] bool try_append(std::size_t seen, order_line& line) {
        const std::scoped_lock lock{mutex_};
        if (seen != lines_.size()) {
            return false;
        }
        append_locked(std::move(line));
        return true;
    }

    [[nodiscard]] const order_line* find(std::string_view orderid, std::size_t visible) const {
        const std::scoped_lock lock{mutex_};
        const auto it = position_.find(orderid);
        // A line past `visible` was added by another copy, or released by this one.
        return it == position_.end() || it->second >= visible ? nullptr : &lines_[it->second];
    }

    [[nodiscard]] const order_line& at(std::size_t i) const {
        const std::scoped_lock lock{mutex_};
        return lines_[i];
    }

    void copy(std::size_t first, std::size_t last, std::vector<order_line>& out) const {
        const std::scoped_lock lock{mutex_};
        out.insert(out.end(), lines_.begin() + static_cast<std::ptrdiff_t>(first),
                   lines_.begin() + static_cast<std::ptrdiff_t>(last));
    }

private:
    void append_locked(order_line line) {
        // A deque never moves its elements, so the index's keys and the pointers find() hands
        // out stay valid while the log grows.
        const auto& stored = lines_.emplace_back(std::move(line));
        position_.try_emplace(std::string_view{stored.orderid}, lines_.size() - 1);
    }

    mutable std::mutex mutex_;
    std::deque<order_line> lines_;
    std::unordered_map<std::string_view, std::size_t> position_;
};

allocation_list::allocation_list(std::vector<order_line> lines) : size_{lines.size()} {
    if (!lines.empty()) {
        log_ = std::make_shared<line_log>(std::move(lines));  // one log filled at once, not a push per line
    }
}

const order_line& allocation_list::back() const {
    return log_->at(size_ - 1);
}

const order_line* allocation_list::find(std::string_view orderid) const {
    return log_ ? log_->find(orderid, size_) : nullptr;
}

std::vector<order_line> allocation_list::lines(std::size_t first) const {
    std::vector<order_line> out;
    if (log_ && first < size_) {
        out.reserve(size_ - first);
        log_->copy(first, size_, out);
    }
    return out;
}

std::size_t allocation_list::common_prefix(const allocation_list& other) const {
    if (log_ == other.log_) {
        return std::min(size_, other.size_);  // one log: the shorter is a prefix of the longer
    }
    const auto mine = lines();
    const auto theirs = other.lines();
    const auto [end, ignored] = std::ranges::mismatch(mine, theirs);
    return static_cast<std::size_t>(end - mine.begin());
}

void allocation_list::push_back(order_line line) {
    if (!log_) {
        log_ = std::make_shared<line_log>();
    }
    if (!log_->try_append(size_, line)) {
        // Another copy appended past our lines, or we released some: start a log of our own.
        log_ = std::make_shared<line_log>(*log_, size_);
        (void)log_->try_append(size_, line);
    }
    ++size_;
}

bool operator==(const allocation_list& a, const allocation_list& b) {
    if (a.size_ != b.size_) {
        return false;
    }
    if (a.log_ == b.log_) {
        return true;  // one log, same length: the same lines
    }
    return a.lines() == b.lines();
}

}  // namespace allocation
