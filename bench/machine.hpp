#pragma once
// The machine a benchmark ran on, for the --json record: figures mean little without it.

#include <string>

namespace cascade::bench {

struct machine {
    unsigned cores = 0;     ///< std::thread::hardware_concurrency; 0 when unknown
    std::string cpu_model;  ///< /proc/cpuinfo's first "model name"; "unknown" without one
};

[[nodiscard]] machine this_machine();

}  // namespace cascade::bench
