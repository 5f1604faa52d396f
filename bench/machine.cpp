#include "machine.hpp"

#include <fstream>
#include <string_view>
#include <thread>

namespace cascade::bench {

namespace {

[[nodiscard]] std::string cpu_model() {
    std::ifstream cpuinfo{"/proc/cpuinfo"};
    constexpr std::string_view key = "model name";
    for (std::string line; std::getline(cpuinfo, line);) {
        const auto colon = line.find(':');
        if (line.starts_with(key) && colon != std::string::npos) {
            const auto value = line.find_first_not_of(" \t", colon + 1);
            return value == std::string::npos ? std::string{"unknown"} : line.substr(value);
        }
    }
    return "unknown";
}

}  // namespace

machine this_machine() {
    return {.cores = std::thread::hardware_concurrency(), .cpu_model = cpu_model()};
}

}  // namespace cascade::bench
