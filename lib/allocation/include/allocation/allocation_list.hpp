#pragma once
// The lines allocated to one batch. A product loaded from the memory store is a copy of the
// stored one, so with a plain vector each load would copy every line the batch ever took and the
// store would slow down as its batches fill. Here copies share one append-only log of lines with
// an index by order, and each copy sees the first size() of them: copying, adding a line and
// finding one cost the same however many lines the batch holds.

#include "allocation/order_line.hpp"

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

namespace allocation {

class allocation_list {
public:
    allocation_list() = default;
    /// The lines, oldest first.
    explicit allocation_list(std::vector<order_line> lines);

    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    /// The newest line; the list must not be empty.
    [[nodiscard]] const order_line& back() const;
    /// The line of `orderid`, or nullptr.
    [[nodiscard]] const order_line* find(std::string_view orderid) const;
    /// A copy of the lines, oldest first.
    [[nodiscard]] std::vector<order_line> lines() const;

    /// Adds a line; an order has at most one line in a batch.
    void push_back(order_line line);
    /// Forgets the newest line; the list must not be empty.
    void pop_back() noexcept { --size_; }

    friend bool operator==(const allocation_list& a, const allocation_list& b);

private:
    class log;

    std::shared_ptr<log> log_;
    std::size_t size_ = 0;  ///< this copy's lines are the log's first size_
};

}  // namespace allocation
