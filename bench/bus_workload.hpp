#pragma once
// The bus scenarios' message and keys, shared by the throughput runs (bus_scenarios.cpp) and the
// queued-memory runs (bus_memory.cpp).

#include <cascade/bus.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cascade::bench {

struct tick {
    static constexpr std::string_view name = "Tick";
    static constexpr message_kind kind = message_kind::event;
    std::string key;
    std::uint64_t seq{};
    [[nodiscard]] std::string_view aggregate() const noexcept { return key; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(tick, key, seq)

/// "agg-0" .. "agg-<n-1>": short enough for std::string's inline buffer.
[[nodiscard]] inline std::vector<std::string> make_keys(std::size_t n) {
    std::vector<std::string> keys;
    keys.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        keys.push_back("agg-" + std::to_string(i));
    }
    return keys;
}

}  // namespace cascade::bench
