#include "allocation/messages.hpp"

#include "allocation/date.hpp"

using nlohmann::json;

std::chrono::year_month_day cascade::field_codec<std::chrono::year_month_day>::read(const json& value,
                                                                                    const field_rules& /*rules*/) {
    if (!value.is_string()) {
        detail::throw_field_type(value, "string");
    }
    const auto date = allocation::parse_date(value.get_ref<const std::string&>());
    if (!date) {
        detail::throw_invalid_field(value, "must be a date YYYY-MM-DD, but is " + value.dump());
    }
    return *date;
}

json cascade::field_codec<std::chrono::year_month_day>::write(std::chrono::year_month_day value) {
    return allocation::format_date(value);
}

json cascade::field_codec<std::chrono::year_month_day>::schema(const field_rules& /*rules*/) {
    // "format" alone is only an annotation in draft 2020-12; the pattern is what a validator checks.
    return {{"type", "string"}, {"format", "date"}, {"pattern", "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}};
}
