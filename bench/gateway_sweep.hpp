#pragma once
// --sweep PARAMETER=V1,V2,...: the gateway scenario once per value, as one series.

#include <cstddef>
#include <string>
#include <vector>

namespace cascade::bench {

struct gateway_settings;

struct gateway_sweep {
    std::string parameter;  ///< "connections" or "inflight"; empty: no sweep
    std::vector<std::size_t> values;

    [[nodiscard]] bool empty() const noexcept { return parameter.empty(); }
};

/// "connections=1,4,16"; throws std::invalid_argument on anything else.
[[nodiscard]] gateway_sweep parse_sweep(const std::string& text);

/// `s` with the swept parameter set to `value`.
[[nodiscard]] gateway_settings with_value(gateway_settings s, const std::string& parameter, std::size_t value);

}  // namespace cascade::bench
