#include "gateway/permissions.hpp"

#include <algorithm>
#include <fnmatch.h>

namespace gateway {
namespace {

constexpr std::string_view any_name = "*";

[[nodiscard]] bool grants_every_name(const std::vector<std::string>& patterns) {
    return std::ranges::find(patterns, any_name) != patterns.end();
}

[[nodiscard]] bool matches_any(const std::vector<std::string>& patterns, std::string_view name) {
    if (grants_every_name(patterns)) {
        return true;  // every submit of a server without tokens comes here: no fnmatch for it
    }
    // fnmatch wants NUL-terminated strings; names are short.
    const std::string subject{name};
    return std::ranges::any_of(patterns, [&subject](const std::string& pattern) {
        return ::fnmatch(pattern.c_str(), subject.c_str(), 0) == 0;
    });
}

}  // namespace

permissions permissions::everything() {
    return permissions{{std::string{any_name}}, {std::string{any_name}}};
}

bool permissions::may_submit(std::string_view name) const {
    return matches_any(submit_, name);
}

bool permissions::may_subscribe(std::string_view name) const {
    return matches_any(subscribe_, name);
}

narrowed_names permissions::narrow(const std::vector<std::string>& asked,
                                   const std::vector<std::string_view>& known) const {
    if (grants_every_name(subscribe_)) {
        return {};
    }
    narrowed_names result{.answer = narrowed_names::verdict::narrowed, .names = {}};
    if (asked.empty()) {
        // "Every name" becomes every known name the patterns allow.
        for (const auto name : known) {
            if (may_subscribe(name)) {
                result.names.emplace_back(name);
            }
        }
    } else {
        std::ranges::copy_if(asked, std::back_inserter(result.names),
                             [this](const std::string& name) { return may_subscribe(name); });
        if (result.names.size() == asked.size()) {
            return {};
        }
    }
    if (result.names.empty()) {
        result.answer = narrowed_names::verdict::refused;
    }
    return result;
}

}  // namespace gateway
