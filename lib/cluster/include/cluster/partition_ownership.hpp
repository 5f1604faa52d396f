#pragma once
// This instance's share of the partitions, kept on a thread of its own: every quarter of the lease
// TTL it announces itself in the roster, renews the leases it holds, and moves toward its fair
// share (the partition count over the instances alive, rounded up): it claims free partitions
// when it holds fewer, and releases some when it holds more (an instance joined). A lease it
// could not renew for three quarters of the TTL counts as lost before nats-server can give it to
// anyone else, so that two instances never consume one partition at once (the lease revision
// fences what a slow one still commits).

#include "cluster/lease_table.hpp"
#include "cluster/member_roster.hpp"
#include "cluster/nats_client.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cluster {

struct ownership_settings {
    std::string instance;  ///< unique in the cluster
    std::uint32_t partitions = 64;
    std::chrono::milliseconds lease_ttl{5000};
};

/// What the instance does as partitions come and go. Called on the ownership's thread, one at a
/// time; they must not throw.
struct ownership_handlers {
    /// The partition is this instance's now: start consuming it.
    std::function<void(const lease&)> gained;
    /// The partition is not this instance's any more, or is about to be released: stop consuming
    /// it before returning.
    std::function<void(std::uint32_t partition)> lost;
};

class partition_ownership {
public:
    /// Joins and starts balancing at once. Throws nats_error when the buckets cannot be opened.
    partition_ownership(nats_client& client, ownership_settings settings, ownership_handlers handlers);
    /// leave().
    ~partition_ownership();
    partition_ownership(const partition_ownership&) = delete;
    partition_ownership& operator=(const partition_ownership&) = delete;

    /// Stops balancing, releases every partition (after `lost`) and leaves the roster, so that
    /// the others take over at once. Idempotent.
    void leave() noexcept;
    /// Stops at once without releasing anything or leaving, as a crashed process does: the
    /// others take over once the leases expire.
    void abandon() noexcept;

    /// The partitions held now, in order.
    [[nodiscard]] std::vector<std::uint32_t> held() const;

private:
    struct holding {
        lease current;
        std::chrono::steady_clock::time_point valid_until;  ///< lost if not renewed by then
    };

    void run(const std::stop_token& stop);
    void balance();
    void renew_all();
    void claim_up_to(std::size_t share);
    void release_down_to(std::size_t share);
    void drop(std::uint32_t partition);
    void release_all() noexcept;
    [[nodiscard]] std::chrono::steady_clock::time_point validity_from(
        std::chrono::steady_clock::time_point written) const;

    ownership_settings settings_;
    ownership_handlers handlers_;
    lease_table leases_;
    member_roster roster_;
    mutable std::mutex mutex_;  ///< guards held_ against held() from other threads
    std::map<std::uint32_t, holding> held_;
    std::mutex wake_mutex_;
    std::condition_variable_any wake_;
    std::jthread balancer_;  ///< last: it starts once everything above exists
};

}  // namespace cluster
