#pragma once
// The domain model: order lines, batches of stock, and the product aggregate (one per SKU) that
// allocates lines to its batches and records what happened as events (the book's chapter 7–9).

#include "allocation/allocation_list.hpp"
#include "allocation/order_line.hpp"

#include <cascade/message.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace allocation {

/// Stock of one SKU, either in the warehouse (no ETA) or arriving on `eta`.
class batch {
public:
    using date = std::chrono::year_month_day;

    /// `allocations` restores a stored batch; they are trusted to fit.
    batch(std::string reference, std::string sku, int purchased_quantity, std::optional<date> eta = {},
          std::vector<order_line> allocations = {});
    /// Restores a stored batch whose lines are read when needed; `allocated_quantity` is their sum.
    batch(std::string reference, std::string sku, int purchased_quantity, std::optional<date> eta,
          allocation_list allocations, int allocated_quantity);

    [[nodiscard]] const std::string& reference() const noexcept { return reference_; }
    [[nodiscard]] const std::string& sku() const noexcept { return sku_; }
    [[nodiscard]] const std::optional<date>& eta() const noexcept { return eta_; }
    [[nodiscard]] int purchased_quantity() const noexcept { return purchased_; }
    [[nodiscard]] int allocated_quantity() const noexcept { return allocated_; }
    /// May be negative right after the purchased quantity shrank.
    [[nodiscard]] int available_quantity() const noexcept { return purchased_ - allocated_; }
    /// The lines allocated, shared with the copies of this batch.
    [[nodiscard]] const allocation_list& allocations() const noexcept { return allocations_; }

    [[nodiscard]] bool can_allocate(const order_line& line) const noexcept;
    /// The allocated line of `orderid`, or std::nullopt.
    [[nodiscard]] std::optional<order_line> find_line(std::string_view orderid) const;

    /// Adds the line; the caller checked can_allocate.
    void allocate(order_line line);
    /// Removes and returns the most recent line (the oldest orders keep their stock).
    [[nodiscard]] order_line deallocate_one();
    void set_purchased_quantity(int qty) noexcept { purchased_ = qty; }

    /// Allocation preference: in stock (no ETA) before any ETA, then the earlier ETA.
    [[nodiscard]] friend bool allocates_before(const batch& a, const batch& b) noexcept {
        return a.eta_ < b.eta_;  // std::optional orders nullopt first
    }
    friend bool operator==(const batch&, const batch&) = default;

private:
    std::string reference_;
    std::string sku_;
    int purchased_{};
    std::optional<date> eta_;
    allocation_list allocations_;
    int allocated_{};  ///< sum of the allocations' quantities, kept in step
};

/// The aggregate: every batch of one SKU, and the version number that each allocation
/// increments (the optimistic concurrency token of chapter 7).
class product {
public:
    explicit product(std::string sku, std::vector<batch> batches = {}, std::int64_t version_number = 0);

    [[nodiscard]] const std::string& sku() const noexcept { return sku_; }
    [[nodiscard]] const std::vector<batch>& batches() const noexcept { return batches_; }
    [[nodiscard]] std::int64_t version_number() const noexcept { return version_number_; }
    [[nodiscard]] const batch* find_batch(std::string_view reference) const noexcept;

    /// Adds a new batch of this SKU; duplicate_batch when the reference is taken,
    /// std::invalid_argument when the batch is of another SKU.
    void add_batch(batch b);

    /// Allocates the line to the preferred batch that can take it, records Allocated and returns
    /// that batch's reference; records OutOfStock and returns std::nullopt when none can.
    /// A line already allocated is never allocated twice: its batch is returned and nothing
    /// changes (conflicting_line when the quantity differs).
    [[nodiscard]] std::optional<std::string> allocate(const order_line& line);

    /// Sets the batch's purchased quantity and deallocates its most recent lines, recording
    /// Deallocated for each, until what is left fits. invalid_batch_reference for an unknown batch.
    void change_batch_quantity(std::string_view reference, int qty);

    /// Events recorded and not yet taken, oldest first.
    [[nodiscard]] const std::vector<cascade::any_message>& events() const noexcept { return events_; }
    /// Hands the recorded events over and forgets them.
    [[nodiscard]] std::vector<cascade::any_message> take_events() noexcept;

private:
    [[nodiscard]] batch* find_mutable_batch(std::string_view reference) noexcept;

    std::string sku_;
    std::vector<batch> batches_;  ///< in the order they were added
    std::int64_t version_number_{};
    std::vector<cascade::any_message> events_;
};

}  // namespace allocation
