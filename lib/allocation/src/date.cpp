#include "allocation/date.hpp"

#include <algorithm>
#include <charconv>
#include <fmt/format.h>

namespace allocation {

namespace {

/// The digits of `text` as a number, when it is digits only (from_chars alone takes a sign).
[[nodiscard]] std::optional<unsigned> digits(std::string_view text) {
    if (text.empty() || !std::ranges::all_of(text, [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
    }
    unsigned value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
}

}  // namespace

std::optional<std::chrono::year_month_day> parse_date(std::string_view text) {
    // Exactly YYYY-MM-DD, as the schema's pattern says: no "2026-1-5", no spaces, no sign.
    if (text.size() != 10 || text[4] != '-' || text[7] != '-') {
        return std::nullopt;
    }
    const auto year = digits(text.substr(0, 4));
    const auto month = digits(text.substr(5, 2));
    const auto day = digits(text.substr(8, 2));
    if (!year || !month || !day) {
        return std::nullopt;
    }
    const std::chrono::year_month_day date{std::chrono::year{static_cast<int>(*year)}, std::chrono::month{*month},
                                           std::chrono::day{*day}};
    return date.ok() ? std::optional{date} : std::nullopt;  // no 2024-02-31, no month 13
}

std::string format_date(std::chrono::year_month_day date) {
    return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                       static_cast<unsigned>(date.day()));
}

}  // namespace allocation
