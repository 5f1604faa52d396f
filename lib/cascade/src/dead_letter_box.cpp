#include "dead_letter_box.hpp"

#include <algorithm>

namespace cascade::detail {

std::uint64_t dead_letter_box::keep(dead_letter letter) {
    if (capacity_ == 0) {
        return 0;
    }
    const std::scoped_lock lock{mutex_};
    letter.id = next_id_++;
    if (letters_.size() == capacity_) {
        drop_locked(letters_.begin());
    }
    letters_.push_back(std::move(letter));
    if (records_.kept) {
        records_.kept(letters_.back());
    }
    return letters_.back().id;
}

void dead_letter_box::restore(std::vector<dead_letter> letters, std::uint64_t last_id) {
    std::ranges::sort(letters, {}, &dead_letter::id);
    const std::scoped_lock lock{mutex_};
    next_id_ = std::max(next_id_, last_id + 1);
    for (auto& letter : letters) {
        next_id_ = std::max(next_id_, letter.id + 1);
        letters_.push_back(std::move(letter));
        if (letters_.size() > capacity_) {
            drop_locked(letters_.begin());
        }
    }
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
        drop_locked(oldest ? std::next(letters_.begin()) : letters_.begin());
    }
}

void dead_letter_box::drop_locked(std::deque<dead_letter>::iterator letter) {
    if (records_.dropped) {
        records_.dropped(letter->id);
    }
    letters_.erase(letter);
}

}  // namespace cascade::detail
