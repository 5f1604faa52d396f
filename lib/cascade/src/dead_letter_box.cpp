#include "dead_letter_box.hpp"

#include <algorithm>

namespace cascade::detail {

void dead_letter_box::keep(dead_letter letter) {
    if (capacity_ == 0) {
        return;
    }
    const std::scoped_lock lock{mutex_};
    letter.id = next_id_++;
    if (letters_.size() == capacity_) {
        letters_.pop_front();
    }
    letters_.push_back(std::move(letter));
}

std::vector<dead_letter> dead_letter_box::list() const {
    const std::scoped_lock lock{mutex_};
    return {letters_.begin(), letters_.end()};
}

std::optional<dead_letter> dead_letter_box::take(std::uint64_t id) {
    const std::scoped_lock lock{mutex_};
    const auto it = std::ranges::lower_bound(letters_, id, {}, &dead_letter::id);
    if (it == letters_.end() || it->id != id) {
        return std::nullopt;
    }
    dead_letter letter = std::move(*it);
    letters_.erase(it);
    return letter;
}

void dead_letter_box::put_back(dead_letter letter) {
    const std::scoped_lock lock{mutex_};
    const auto it = std::ranges::lower_bound(letters_, letter.id, {}, &dead_letter::id);
    const bool oldest = it == letters_.begin();
    letters_.insert(it, std::move(letter));
    if (letters_.size() > capacity_) {
        // Newer letters came meanwhile: the oldest other than this one goes, as in keep().
        letters_.erase(oldest ? std::next(letters_.begin()) : letters_.begin());
    }
}

}  // namespace cascade::detail
