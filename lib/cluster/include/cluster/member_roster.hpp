#pragma once
// Which instances are alive: each one writes its name into a key-value bucket
// ("cascade_members") at every heartbeat, and nats-server forgets a name whose heartbeats stop
// for the bucket's TTL. Partition ownership reads the count to know each instance's fair share.

#include "cluster/nats_client.hpp"
#include "cluster/versioned_bucket.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace cluster {

class member_roster {
public:
    static constexpr const char* bucket = "cascade_members";

    /// Binds to the bucket, creating it (with `ttl`) when no instance has yet.
    member_roster(nats_client& client, std::string instance, std::chrono::milliseconds ttl);

    /// This instance is alive (at least for another TTL). Throws nats_error.
    void heartbeat() { (void)bucket_.put(instance_, "alive"); }
    /// This instance leaves now rather than at the TTL. Throws nats_error.
    void leave() { bucket_.erase(instance_); }
    /// The instances alive, by name, sorted. Throws nats_error.
    [[nodiscard]] std::vector<std::string> members() const;

private:
    std::string instance_;
    versioned_bucket bucket_;
};

}  // namespace cluster
