#include "gateway_sweep.hpp"

#include "gateway_settings.hpp"

#include <charconv>
#include <stdexcept>
#include <string_view>

namespace cascade::bench {

namespace {

[[nodiscard]] bool sweepable(std::string_view parameter) {
    return parameter == "connections" || parameter == "inflight";
}

[[nodiscard]] std::size_t parse_value(std::string_view text) {
    std::size_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size() || value == 0) {
        throw std::invalid_argument{"values are positive integers, not '" + std::string{text} + "'"};
    }
    return value;
}

}  // namespace

gateway_sweep parse_sweep(const std::string& text) {
    const auto equals = text.find('=');
    gateway_sweep sweep{.parameter = text.substr(0, equals)};
    if (equals == std::string::npos || !sweepable(sweep.parameter)) {
        throw std::invalid_argument{"expected connections=V1,V2,... or inflight=V1,V2,..."};
    }
    std::string_view values = std::string_view{text}.substr(equals + 1);
    while (!values.empty()) {
        const auto comma = values.find(',');
        sweep.values.push_back(parse_value(values.substr(0, comma)));
        values = comma == std::string_view::npos ? std::string_view{} : values.substr(comma + 1);
    }
    if (sweep.values.empty()) {
        throw std::invalid_argument{"expected at least one value"};
    }
    return sweep;
}

gateway_settings with_value(gateway_settings s, const std::string& parameter, std::size_t value) {
    (parameter == "connections" ? s.connections : s.inflight) = value;
    return s;
}

}  // namespace cascade::bench
