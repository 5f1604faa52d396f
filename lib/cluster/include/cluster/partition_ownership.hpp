#pragma once
// This instance's share of the partitions, kept on a thread of its own: every quarter of the lease
// TTL it announces itself in the roster, renews the leases it holds, and moves toward its fair
// share: the partition count over the instances alive, the first instances by name taking one
// more each while some are left over. It claims free partitions when it holds fewer, and
// releases some when it holds more (an instance joined). A lease not renewed within three
// quarters of the TTL (the bucket's, whoever set it) counts as lost before nats-server can give
// it to anyone else, so that two instances never consume one partition at once; what a slow
// instance still commits is fenced by the lease's revision (current_lease).

#include "cluster/lease_table.hpp"
#include "cluster/member_roster.hpp"
#include "cluster/nats_client.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace cluster {

struct ownership_settings {
    std::string instance;  ///< unique in the cluster
    std::uint32_t partitions = 64;
    std::chrono::milliseconds lease_ttl{5000};  ///< used when this instance creates the buckets
};

/// What the instance does as partitions come and go. Called one at a time, on the ownership's
/// thread (and by leave(), on its caller's); they must not throw, nor call leave() or abandon().
/// The balancer releases a few partitions per round (each `lost` waits for its consumer), so that
/// the leases it keeps are renewed meanwhile.
struct ownership_handlers {
    /// The partition is this instance's now: start consuming it; false when that cannot be done
    /// now (nats-server away), and the lease is given back at once.
    std::function<bool(const lease&)> gained;
    /// The partition is not this instance's any more, or is about to be released: stop consuming
    /// it before returning.
    std::function<void(std::uint32_t partition)> lost;
    /// Optional: leave() began (balancing has stopped, nothing is renewed any more): stop
    /// consuming every partition now, together; `lost` follows for each.
    std::function<void()> leaving;
};

/// How many of `partitions` the instance ranked `rank` (0-based, by name) of `alive` should hold.
[[nodiscard]] std::size_t fair_share(std::uint32_t partitions, std::size_t alive, std::size_t rank) noexcept;

class partition_ownership {
public:
    /// Joins and starts balancing at once. Throws std::invalid_argument without partitions or
    /// when the lease bucket has no TTL, nats_error when the buckets cannot be opened.
    partition_ownership(nats_client& client, ownership_settings settings, ownership_handlers handlers);
    /// leave().
    ~partition_ownership();
    partition_ownership(const partition_ownership&) = delete;
    partition_ownership& operator=(const partition_ownership&) = delete;

    /// Stops balancing, releases every partition (after `lost`) and leaves the roster, so that
    /// the others take over at once. Idempotent.
    void leave() noexcept;
    /// Stops at once without releasing anything or leaving, as a crashed process does: the
    /// others take over once the leases expire. Nothing counts as held any more, and no `lost`
    /// is called: the instance stops consuming by itself.
    void abandon() noexcept;

    /// The partitions held now, in order.
    [[nodiscard]] std::vector<std::uint32_t> held() const;
    /// The partition's lease as last renewed (its revision is the fencing token a commit checks),
    /// or nullopt when it is not held.
    [[nodiscard]] std::optional<lease> current_lease(std::uint32_t partition) const;

private:
    struct holding {
        lease current;
        std::chrono::steady_clock::time_point valid_until;  ///< lost if not renewed by then
    };
    using holdings = std::map<std::uint32_t, holding>;

    void run(const std::stop_token& stop);
    void balance();
    void renew_all();
    /// The fair share of this instance among those alive; nullopt when the roster cannot be read.
    [[nodiscard]] std::optional<std::size_t> share();
    void claim_up_to(std::size_t share);
    void release_down_to(std::size_t share);
    /// `lost`, then forgets the partition.
    void drop(holdings::iterator held);
    /// drop(), then give_back().
    void release(holdings::iterator held) noexcept;
    /// Releases the lease at nats-server, or leaves it to expire when nats-server is away.
    void give_back(const lease& released) noexcept;
    [[nodiscard]] std::chrono::steady_clock::time_point validity_from(
        std::chrono::steady_clock::time_point written) const noexcept;

    ownership_settings settings_;
    ownership_handlers handlers_;
    lease_table leases_;
    std::chrono::milliseconds ttl_;  ///< the lease bucket's
    member_roster roster_;
    mutable std::mutex mutex_;  ///< guards held_ against readers on other threads
    holdings held_;             ///< written by the balancer thread only (and by leave() after it)
    std::mutex wake_mutex_;
    std::condition_variable_any wake_;
    std::jthread balancer_;  ///< last: it starts once everything above exists
};

}  // namespace cluster
