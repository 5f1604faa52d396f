#pragma once
// Message ids, unique within one bus. Internal: include only from lib/cascade/src.

#include "cascade/envelope.hpp"

#include <atomic>
#include <cstdint>

namespace cascade::detail {

class id_source {
public:
    id_source() noexcept;

    /// The next id; threads take ids from the shared counter a block at a time, so they do not
    /// contend on it.
    [[nodiscard]] message_id next() noexcept;

    /// Ids from now on are above `last` (recorded by an earlier process). Before any next().
    void skip_past(message_id last) noexcept;

private:
    static constexpr message_id block_size = 1024;

    std::uint64_t generation_;  ///< distinct per bus in this process: a new bus may reuse a freed one's address
    alignas(64) std::atomic<message_id> next_block_{0};
};

}  // namespace cascade::detail
