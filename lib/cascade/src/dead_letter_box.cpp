#include "dead_letter_box.hpp"

#include <algorithm>

namespace cascade::detail {

std::optional<std::uint64_t> dead_letter_box::keep(dead_letter& letter) {
    if (capacity_ == 0) {
        return std::nullopt;
    }
    const std::scoped_lock lock{mutex_};
    letter.id = next_id_++;
    std::optional<std::uint64_t> pushed_out;
    if (letters_.size() == capacity_) {
        pushed_out = letters_.front().id;
        letters_.pop_front();
    }
    letters_.push_back(letter);
    return pushed_out;
}

std::vector<std::uint64_t> dead_letter_box::restore(std::vector<dead_letter> letters) {
    std::ranges::sort(letters, {}, &dead_letter::id);
    const std::scoped_lock lock{mutex_};
    std::vector<std::uint64_t> pushed_out;
    for (auto& letter : letters) {
        next_id_ = std::max(next_id_, letter.id + 1);
        letters_.push_back(std::move(letter));
        if (letters_.size() > capacity_) {
            pushed_out.push_back(letters_.front().id);
            letters_.pop_front();
        }
    }
    return pushed_out;
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

std::optional<std::uint64_t> dead_letter_box::put_back(dead_letter letter) {
    const std::scoped_lock lock{mutex_};
    const auto it = std::ranges::lower_bound(letters_, letter.id, {}, &dead_letter::id);
    const bool oldest = it == letters_.begin();
    letters_.insert(it, std::move(letter));
    if (letters_.size() <= capacity_) {
        return std::nullopt;
    }
    // Newer letters came meanwhile: the oldest other than this one goes, as in keep().
    const auto out = oldest ? std::next(letters_.begin()) : letters_.begin();
    const auto id = out->id;
    letters_.erase(out);
    return id;
}

}  // namespace cascade::detail
