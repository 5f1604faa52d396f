#include "cascade/metrics.hpp"

#include <cmath>

namespace cascade {

std::uint64_t latency_histogram::quantile_bound_us(double quantile) const noexcept {
    if (count == 0) {
        return 0;
    }
    const auto wanted = static_cast<std::uint64_t>(std::ceil(quantile * static_cast<double>(count)));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < bounds_us.size(); ++i) {
        seen += counts[i];
        if (seen >= wanted) {
            return bounds_us[i];
        }
    }
    return UINT64_MAX;  // slower than the last bound
}

}  // namespace cascade
