#pragma once
// One message on its way through the bus: its envelope, and the cascade it belongs to.
// Internal: include only from lib/cascade/src.

#include "cascade/envelope.hpp"

#include <memory>

namespace cascade::detail {

class cascade_state;

struct handler_entry;

struct work_item {
    envelope message;
    std::shared_ptr<cascade_state> cascade;  ///< null while nobody tracks the cascade
    const handler_entry* only = nullptr;     ///< a dead letter's retry: this one handler of the event
    bool journaled = false;                  ///< its cascade is in the journal: its runs are recorded
    /// Its runs may be recorded already: it was recovered, or raised by a run that was.
    bool recovering = false;
};

}  // namespace cascade::detail
