#pragma once
// A hash map keyed by std::string that is searched with a std::string_view, without building a
// string. Keys such as SKUs and order ids share long prefixes, which made an ordered map's
// comparisons the bulk of a lookup.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace cascade {

struct string_hash {
    using is_transparent = void;
    [[nodiscard]] std::size_t operator()(std::string_view text) const noexcept {
        return std::hash<std::string_view>{}(text);
    }
};

template <class Value>
using string_map = std::unordered_map<std::string, Value, string_hash, std::equal_to<>>;

}  // namespace cascade
