#pragma once
// The lines allocated to one batch. A product loaded from the memory store is a copy of the
// stored one, so with a plain vector each load would copy every line the batch ever took and the
// store would slow down as its batches fill. Here copies share one append-only log of lines with
// an index by order, and each copy sees the first size() of them: copying, adding a line and
// finding one cost the same however many lines the batch holds. (A copy that adds a line after
// another copy added one, or after releasing one, first copies its lines into a log of its own.)

#include "allocation/order_line.hpp"

#include <cstddef>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

namespace allocation {

class allocation_list {
public:
    allocation_list() noexcept = default;
    /// The lines, oldest first. An order has at most one line in a batch; should the lines hold
    /// two, find() sees the older.
    explicit allocation_list(std::vector<order_line> lines);

    allocation_list(const allocation_list&) = default;
    allocation_list& operator=(const allocation_list&) = default;
    /// The list moved from is empty.
    allocation_list(allocation_list&& other) noexcept
        : log_{std::move(other.log_)}, size_{std::exchange(other.size_, 0)} {}
    allocation_list& operator=(allocation_list&& other) noexcept {
        log_ = std::move(other.log_);
        size_ = std::exchange(other.size_, 0);
        return *this;
    }
    ~allocation_list() = default;

    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    /// The newest line; the list must not be empty. Valid until this list next changes.
    [[nodiscard]] const order_line& back() const;
    /// The line of `orderid`, or nullptr. Valid until this list next changes.
    [[nodiscard]] const order_line* find(std::string_view orderid) const;
    /// A copy of the lines from position `first` on, oldest first.
    [[nodiscard]] std::vector<order_line> lines(std::size_t first = 0) const;
    /// How many of the oldest lines the two lists have in common.
    [[nodiscard]] std::size_t common_prefix(const allocation_list& other) const;

    /// Adds a line; an order has at most one line in a batch.
    void push_back(order_line line);
    /// Forgets the newest line; the list must not be empty.
    void pop_back() noexcept { --size_; }

    friend bool operator==(const allocation_list& a, const allocation_list& b);

private:
    class line_log;

    std::shared_ptr<line_log> log_;  ///< null until the first line
    std::size_t size_ = 0;           ///< this copy's lines are the log's first size_
};

}  // namespace allocation
