#include "dead_letter_box.hpp"

namespace cascade::detail {

void dead_letter_box::keep(dead_letter letter) {
    if (capacity_ == 0) {
        return;
    }
    const std::scoped_lock lock{mutex_};
    if (letters_.size() == capacity_) {
        letters_.pop_front();
    }
    letters_.push_back(std::move(letter));
}

std::vector<dead_letter> dead_letter_box::list() const {
    const std::scoped_lock lock{mutex_};
    return {letters_.begin(), letters_.end()};
}

}  // namespace cascade::detail
