#pragma once
// The lines allocated to one batch. A product loaded from the memory store is a copy of the
// stored one, so with a plain vector each load would copy every line the batch ever took and the
// store would slow down as its batches fill. Here copies share one append-only log of lines with
// an index by order, and each copy sees the first size() of them: copying, adding a line and
// finding one cost the same however many lines the batch holds. (A copy that adds a line after
// another copy added one, or after releasing one, first copies its lines into a log of its own.)
//
// A list restored from SQLite starts with lines it has not loaded: the store counts them and
// reads one when a decision needs it (stored_lines), so a unit of work costs the same however
// many lines the batch has ever taken.

#include "allocation/order_line.hpp"

#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace allocation {

/// A batch's lines as a store holds them, read when asked. Valid while the unit of work that
/// loaded them is open; std::logic_error after.
class stored_lines {
public:
    virtual ~stored_lines() = default;
    /// How many lines the batch held when loaded.
    [[nodiscard]] virtual std::size_t size() const = 0;
    /// The line of `orderid` and its position (0 is the oldest), or std::nullopt.
    [[nodiscard]] virtual std::optional<std::pair<std::size_t, order_line>> find(std::string_view orderid) const = 0;
    /// The lines at positions [first, last), oldest first.
    [[nodiscard]] virtual std::vector<order_line> range(std::size_t first, std::size_t last) const = 0;

protected:
    stored_lines() = default;
    stored_lines(const stored_lines&) = default;
    stored_lines& operator=(const stored_lines&) = default;
};

class allocation_list {
public:
    allocation_list() noexcept = default;
    /// The lines, oldest first. An order has at most one line in a batch (should these lines
    /// hold two, find() sees the older).
    explicit allocation_list(std::vector<order_line> lines);
    /// The lines of `stored`, none of them read yet.
    explicit allocation_list(std::shared_ptr<const stored_lines> stored);

    allocation_list(const allocation_list&) = default;
    allocation_list& operator=(const allocation_list&) = default;
    /// The list moved from is empty.
    allocation_list(allocation_list&& other) noexcept
        : stored_{std::move(other.stored_)},
          stored_size_{std::exchange(other.stored_size_, 0)},
          log_{std::move(other.log_)},
          size_{std::exchange(other.size_, 0)} {}
    allocation_list& operator=(allocation_list&& other) noexcept {
        stored_ = std::move(other.stored_);
        stored_size_ = std::exchange(other.stored_size_, 0);
        log_ = std::move(other.log_);
        size_ = std::exchange(other.size_, 0);
        return *this;
    }
    ~allocation_list() = default;

    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    /// The newest line; the list must not be empty.
    [[nodiscard]] order_line back() const;
    /// The line of `orderid`, or std::nullopt.
    [[nodiscard]] std::optional<order_line> find(std::string_view orderid) const;
    /// A copy of the lines from position `first` on, oldest first.
    [[nodiscard]] std::vector<order_line> lines(std::size_t first = 0) const;
    /// How many of the oldest lines the two lists have in common: exactly, or fewer (never more)
    /// where one released stored lines the other keeps. Enough to write only a difference.
    [[nodiscard]] std::size_t common_prefix(const allocation_list& other) const;

    /// Adds a line; an order has at most one line in a batch.
    void push_back(order_line line);
    /// Forgets the newest line; the list must not be empty.
    void pop_back() noexcept;

    friend bool operator==(const allocation_list& a, const allocation_list& b);

private:
    class line_log;

    /// Lines past the stored ones: positions [stored_size_, size_).
    [[nodiscard]] std::size_t logged() const noexcept { return size_ - stored_size_; }

    std::shared_ptr<const stored_lines> stored_;  ///< null unless restored from a store
    std::size_t stored_size_ = 0;                 ///< this copy's first stored_size_ lines are stored_'s
    std::shared_ptr<line_log> log_;               ///< null until a line is added
    std::size_t size_ = 0;                        ///< this copy's later lines are the log's first logged()
};

}  // namespace allocation
