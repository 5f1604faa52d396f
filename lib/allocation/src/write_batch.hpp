#pragma once
// The SQLite store's write batches: units of work that record a journaled run join the writing
// connection's open transaction and leave it open; the journal's writer commits it with its own
// records, for all of them at once. Each transaction is a batch with an id, and this tracks which
// ids are committed and which were lost. Internal: include only from lib/allocation/src.

#include <cstdint>
#include <mutex>
#include <set>

namespace allocation::detail {

class batch_tracker {
public:
    enum class state : std::uint8_t { pending, committed, lost };

    /// A transaction began: its id.
    [[nodiscard]] std::uint64_t begin() {
        const std::scoped_lock lock{mutex_};
        open_ = ++last_;
        return open_;
    }

    /// The open transaction's id, or 0.
    [[nodiscard]] std::uint64_t open() const {
        const std::scoped_lock lock{mutex_};
        return open_;
    }

    /// The open transaction committed, or was rolled back with every unit in it.
    void end(bool committed) {
        const std::scoped_lock lock{mutex_};
        if (open_ == 0) {
            return;
        }
        if (!committed) {
            lost_.insert(open_);
        }
        resolved_ = open_;
        open_ = 0;
    }

    [[nodiscard]] state of(std::uint64_t batch) const {
        const std::scoped_lock lock{mutex_};
        if (batch > resolved_) {
            return state::pending;
        }
        return lost_.contains(batch) ? state::lost : state::committed;
    }

private:
    mutable std::mutex mutex_;
    std::uint64_t last_ = 0;
    std::uint64_t open_ = 0;
    std::uint64_t resolved_ = 0;    ///< every batch up to this one is committed or lost
    std::set<std::uint64_t> lost_;  ///< only the (rare) rolled-back ones
};

}  // namespace allocation::detail
