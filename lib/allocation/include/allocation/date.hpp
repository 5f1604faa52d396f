#pragma once
// Calendar dates on the wire: "YYYY-MM-DD", the form of the book's ETAs.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace allocation {

/// The date written as "YYYY-MM-DD"; std::nullopt when the text is not a valid calendar date.
[[nodiscard]] std::optional<std::chrono::year_month_day> parse_date(std::string_view text);

/// "YYYY-MM-DD".
[[nodiscard]] std::string format_date(std::chrono::year_month_day date);

}  // namespace allocation
