#pragma once
// A message an event handler could not process after all its attempts.

#include "cascade/envelope.hpp"

#include <cstdint>
#include <string>

namespace cascade {

struct dead_letter {
    std::uint64_t id{};  ///< the bus's number for this letter, unique for its lifetime: what a retry names
    envelope message;
    std::string handler;
    std::string error;
    std::uint32_t attempts{};
    std::chrono::system_clock::time_point at{};
};

/// The wire form: {"id","handler","error","attempts","at_ms","message"}, the message as an
/// envelope; the id is a string, as message ids are.
[[nodiscard]] nlohmann::json to_json(const dead_letter& letter);

}  // namespace cascade
