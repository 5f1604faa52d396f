#include "allocation/date.hpp"

#include <ctime>
#include <fmt/format.h>
#include <iomanip>
#include <sstream>

namespace allocation {

std::optional<std::chrono::year_month_day> parse_date(std::string_view text) {
    std::tm parts{};
    std::istringstream in{std::string{text}};
    in >> std::get_time(&parts, "%Y-%m-%d");
    if (in.fail() || in.peek() != std::istringstream::traits_type::eof()) {
        return std::nullopt;
    }
    const std::chrono::year_month_day date{std::chrono::year{parts.tm_year + 1900},
                                           std::chrono::month{static_cast<unsigned>(parts.tm_mon + 1)},
                                           std::chrono::day{static_cast<unsigned>(parts.tm_mday)}};
    // get_time accepts 2024-02-31; the calendar does not.
    return date.ok() ? std::optional{date} : std::nullopt;
}

std::string format_date(std::chrono::year_month_day date) {
    return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                       static_cast<unsigned>(date.day()));
}

}  // namespace allocation
