#include "allocation/model.hpp"

#include "allocation/errors.hpp"
#include "allocation/messages.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <utility>

namespace allocation {

batch::batch(std::string reference, std::string sku, int purchased_quantity, std::optional<date> eta,
             std::vector<order_line> allocations)
    : reference_{std::move(reference)},
      sku_{std::move(sku)},
      purchased_{purchased_quantity},
      eta_{eta},
      allocated_{std::accumulate(allocations.begin(), allocations.end(), 0,
                                 [](int sum, const order_line& line) { return sum + line.qty; })} {
    allocations_ = allocation_list{std::move(allocations)};
}

batch::batch(std::string reference, std::string sku, int purchased_quantity, std::optional<date> eta,
             allocation_list allocations, int allocated_quantity)
    : reference_{std::move(reference)},
      sku_{std::move(sku)},
      purchased_{purchased_quantity},
      eta_{eta},
      allocations_{std::move(allocations)},
      allocated_{allocated_quantity} {}

bool batch::can_allocate(const order_line& line) const noexcept {
    return line.sku == sku_ && available_quantity() >= line.qty;
}

std::optional<order_line> batch::find_line(std::string_view orderid) const {
    return allocations_.find(orderid);
}

void batch::allocate(order_line line) {
    allocated_ += line.qty;
    allocations_.push_back(std::move(line));
}

order_line batch::deallocate_one() {
    if (allocations_.empty()) {
        throw std::logic_error{"batch " + reference_ + " has no allocation to release"};
    }
    order_line line = allocations_.back();
    allocations_.pop_back();
    allocated_ -= line.qty;
    return line;
}

product::product(std::string sku, std::vector<batch> batches, std::int64_t version_number)
    : sku_{std::move(sku)}, batches_{std::move(batches)}, version_number_{version_number} {}

const batch* product::find_batch(std::string_view reference) const noexcept {
    const auto it = std::ranges::find(batches_, reference, &batch::reference);
    return it == batches_.end() ? nullptr : &*it;
}

batch* product::find_mutable_batch(std::string_view reference) noexcept {
    return const_cast<batch*>(std::as_const(*this).find_batch(reference));
}

void product::add_batch(batch b) {
    if (b.sku() != sku_) {
        throw std::invalid_argument{"batch " + b.reference() + " is of SKU " + b.sku() + ", not " + sku_};
    }
    if (find_batch(b.reference()) != nullptr) {
        throw duplicate_batch{b.reference()};
    }
    batches_.push_back(std::move(b));
}

std::optional<std::string> product::allocate(const order_line& line) {
    if (line.sku != sku_) {
        throw std::invalid_argument{"line of SKU " + line.sku + " offered to product " + sku_};
    }
    for (const batch& b : batches_) {
        if (const auto held = b.find_line(line.orderid)) {
            if (held->qty != line.qty) {
                throw conflicting_line{"Order " + line.orderid + " already has " + sku_ + " allocated with qty " +
                                       std::to_string(held->qty)};
            }
            return b.reference();
        }
    }
    batch* preferred = nullptr;
    for (batch& candidate : batches_) {
        // Strictly before: among equals the batch added first wins.
        if (candidate.can_allocate(line) && (preferred == nullptr || allocates_before(candidate, *preferred))) {
            preferred = &candidate;
        }
    }
    if (preferred == nullptr) {
        events_.emplace_back(out_of_stock{.sku = sku_});
        return std::nullopt;
    }
    preferred->allocate(line);
    ++version_number_;
    events_.emplace_back(
        allocated{.orderid = line.orderid, .sku = sku_, .qty = line.qty, .batchref = preferred->reference()});
    return preferred->reference();
}

void product::change_batch_quantity(std::string_view reference, int qty) {
    batch* target = find_mutable_batch(reference);
    if (target == nullptr) {
        throw invalid_batch_reference{reference};
    }
    target->set_purchased_quantity(qty);
    while (target->available_quantity() < 0) {
        order_line line = target->deallocate_one();
        events_.emplace_back(deallocated{.orderid = std::move(line.orderid), .sku = sku_, .qty = line.qty});
    }
}

std::vector<cascade::any_message> product::take_events() noexcept {
    return std::exchange(events_, {});
}

}  // namespace allocation
