#pragma once
// What a bus can tell about the messages it knows: their types and who handles them.

#include "cascade/message.hpp"

#include <string>
#include <vector>

namespace cascade {

/// One message type the bus knows, with the names of its handlers.
struct catalog_entry {
    const message_type* type;
    std::vector<std::string> handlers;  ///< a command's one handler, or an event's in registration order
};

}  // namespace cascade
