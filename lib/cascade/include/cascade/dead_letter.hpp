#pragma once
// A message an event handler could not process after all its attempts.

#include "cascade/envelope.hpp"

#include <string>

namespace cascade {

struct dead_letter {
    envelope message;
    std::string handler;
    std::string error;
    std::uint32_t attempts{};
    std::chrono::system_clock::time_point at{};
};

}  // namespace cascade
