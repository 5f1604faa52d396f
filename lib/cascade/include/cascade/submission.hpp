#pragma once
// How a message is submitted, what the submission is answered with (admitted or refused), and the
// callbacks of its cascade.

#include "cascade/envelope.hpp"
#include "cascade/outcome.hpp"

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

namespace cascade {

/// How a message is submitted: under an idempotency key (journaled bus only), and by whom.
struct submit_options {
    std::string key;        ///< idempotency key; empty for none
    std::string principal;  ///< recorded on the envelope and inherited by every event of the cascade
};

/// The answer to a submission that does not wait. duplicate_key: the idempotency key names
/// another message already.
enum class admission : std::uint8_t { accepted, overloaded, shutting_down, duplicate_key };

struct submit_result {
    admission status = admission::accepted;
    message_id id{};  ///< of the admitted message; 0 when refused
    /// The key was known: nothing runs again, the observer is told what its cascade did.
    bool replay = false;
    [[nodiscard]] explicit operator bool() const noexcept { return status == admission::accepted; }
};

/// Callbacks of one cascade, called on the bus's threads.
struct cascade_observer {
    /// Once the submitted message is in the bus's journal (committed: durable when the journal
    /// is), before any other callback; `replay` when its key was known and what follows is the
    /// recorded cascade. Never called on a bus without a journal.
    std::function<void(message_id id, bool replay)> on_recorded;
    /// Each resulting event the moment it is collected; calls for one cascade never overlap
    /// and come in collection order. Keep it short: it runs under the cascade's lock.
    std::function<void(const envelope&)> on_event;
    /// Exactly once, when nothing of the cascade is queued or running, or when shutdown cuts it.
    std::function<void(outcome)> on_done;
};

/// Thrown by the waiting forms of submission once the bus has stopped accepting.
class bus_closed : public std::runtime_error {
public:
    bus_closed() : std::runtime_error{"the bus is shutting down"} {}
};

}  // namespace cascade
