#pragma once
// When a cascade that ran across instances is done: its origin keeps the ids of the cascade's
// messages still to be handled somewhere. It starts with the submit; each report "message m was
// handled and raised n events" removes m and adds m's events, whose ids derive from m's
// (raised_id), so the origin knows them without being sent them. Reports come over the network
// in any order and more than once (a redelivered message is handled, and reported, again): a
// report of a message already handled changes nothing, and an event reported before the report
// of the message that raised it is remembered as handled, so the parent's report does not add it
// back. The cascade is done when nothing is left to handle.

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_set>

namespace cluster {

/// The id of the `n`th event (from 1) raised by the handling of `parent`: "<parent>.<n>". The
/// same on every instance and every redelivery, so nats-server de-duplicates an event published
/// again by a redelivered parent.
[[nodiscard]] std::string raised_id(std::string_view parent, std::size_t n);

class cascade_tally {
public:
    /// A cascade whose submitted message `root` is still to be handled.
    explicit cascade_tally(std::string root);

    /// Message `handled` was handled and raised `raised` events; false when it had been reported
    /// already (nothing changes).
    bool report(std::string_view handled, std::size_t raised);

    /// Nothing of the cascade is left to handle anywhere.
    [[nodiscard]] bool done() const noexcept { return pending_.empty(); }
    /// Messages known to be still to handle.
    [[nodiscard]] std::size_t pending() const noexcept { return pending_.size(); }

private:
    std::unordered_set<std::string> pending_;  ///< known, not reported handled
    std::unordered_set<std::string> handled_;  ///< reported handled
};

}  // namespace cluster
