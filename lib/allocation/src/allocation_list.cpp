#include "allocation/allocation_list.hpp"

#include <algorithm>
#include <deque>
#include <mutex>
#include <optional>
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

    [[nodiscard]] std::optional<order_line> find(std::string_view orderid, std::size_t visible) const {
        const std::scoped_lock lock{mutex_};
        const auto it = position_.find(orderid);
        // A line past `visible` was added by another copy, or released by this one.
        if (it == position_.end() || it->second >= visible) {
            return std::nullopt;
        }
        return lines_[it->second];
    }

    [[nodiscard]] order_line at(std::size_t i) const {
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
        // A deque never moves its elements, so the index's keys (views of the stored orderids)
        // stay valid while the log grows.
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

allocation_list::allocation_list(std::shared_ptr<const stored_lines> stored)
    : stored_{std::move(stored)}, stored_size_{stored_ ? stored_->size() : 0}, size_{stored_size_} {}

order_line allocation_list::back() const {
    if (logged() > 0) {
        return log_->at(logged() - 1);
    }
    return stored_->range(size_ - 1, size_).at(0);
}

std::optional<order_line> allocation_list::find(std::string_view orderid) const {
    if (log_) {
        if (auto line = log_->find(orderid, logged())) {
            return line;
        }
    }
    if (stored_size_ > 0) {
        // A stored line past stored_size_ was released by this copy.
        if (auto found = stored_->find(orderid); found && found->first < stored_size_) {
            return std::move(found->second);
        }
    }
    return std::nullopt;
}

std::vector<order_line> allocation_list::lines(std::size_t first) const {
    std::vector<order_line> out;
    if (first >= size_) {
        return out;
    }
    if (first < stored_size_) {
        out = stored_->range(first, stored_size_);
    }
    out.reserve(size_ - first);
    if (logged() > 0) {
        log_->copy(first > stored_size_ ? first - stored_size_ : 0, logged(), out);
    }
    return out;
}

std::size_t allocation_list::common_prefix(const allocation_list& other) const {
    if (stored_ != other.stored_) {  // of different origins: compare every line
        const auto mine = lines();
        const auto theirs = other.lines();
        return static_cast<std::size_t>(std::ranges::mismatch(mine, theirs).in1 - mine.begin());
    }
    const auto stored = std::min(stored_size_, other.stored_size_);
    if (stored_size_ != other.stored_size_ || !log_ || !other.log_) {
        return stored;  // exact unless one released stored lines (see the header)
    }
    if (log_ == other.log_) {
        return stored + std::min(logged(), other.logged());  // one log: the shorter is a prefix
    }
    std::vector<order_line> mine;
    std::vector<order_line> theirs;
    log_->copy(0, logged(), mine);
    other.log_->copy(0, other.logged(), theirs);
    return stored + static_cast<std::size_t>(std::ranges::mismatch(mine, theirs).in1 - mine.begin());
}

void allocation_list::push_back(order_line line) {
    if (!log_) {
        log_ = std::make_shared<line_log>();
    }
    if (!log_->try_append(logged(), line)) {
        // Another copy appended past our lines, or we released some: start a log of our own.
        log_ = std::make_shared<line_log>(*log_, logged());
        (void)log_->try_append(logged(), line);
    }
    ++size_;
}

void allocation_list::pop_back() noexcept {
    --size_;
    if (size_ < stored_size_) {
        stored_size_ = size_;  // released a stored line: nothing logged remains visible
        log_.reset();
    }
}

bool operator==(const allocation_list& a, const allocation_list& b) {
    if (a.size_ != b.size_) {
        return false;
    }
    if (a.stored_ == b.stored_ && a.stored_size_ == b.stored_size_ && a.log_ == b.log_) {
        return true;  // the same lines, shared
    }
    return a.lines() == b.lines();
}

}  // namespace allocation
