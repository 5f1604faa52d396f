#pragma once
// Who handles which partition: leases in a JetStream key-value bucket ("cascade_leases"), one key
// per partition, whose value names the holding instance and its incarnation (a nonce drawn when
// the table is made, so that a restarted instance is a new holder). A lease is claimed by
// creating its key (or by updating it from a released state), kept by renewing it well inside
// the bucket's TTL (an update that expects the revision the holder last wrote), and lost when it
// is not renewed: nats-server removes the entry after the TTL and any instance may claim it.
// Every write gets a new revision, so the revision a holder last wrote is its fencing token: a
// stale holder's renew fails, and a commit that checks the revision refuses it.

#include "cluster/nats_client.hpp"
#include "cluster/versioned_bucket.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace cluster {

struct lease {
    std::uint32_t partition = 0;
    std::uint64_t revision = 0;  ///< the fencing token: the entry's revision the holder last wrote

    friend bool operator==(const lease&, const lease&) = default;
};

struct lease_settings {
    std::string instance;                 ///< this instance's name, the leases' value
    std::chrono::milliseconds ttl{5000};  ///< the bucket's; used when this instance creates it
};

class lease_table {
public:
    static constexpr const char* bucket = "cascade_leases";

    /// Binds to the bucket, creating it (with `settings.ttl`) when no instance has yet.
    lease_table(nats_client& client, lease_settings settings);

    /// The partition's lease when it is free (never claimed, released or expired); nullopt when
    /// someone holds it, a previous incarnation of this instance included (its lease expires).
    /// Throws nats_error when nats-server cannot be asked.
    [[nodiscard]] std::optional<lease> try_claim(std::uint32_t partition);

    /// The lease with a new revision, or nullopt when it was lost (expired, then claimed or
    /// renewed by someone else). Throws nats_error when nats-server cannot be asked.
    [[nodiscard]] std::optional<lease> renew(const lease& held);

    /// Gives the lease up at once (rather than at the TTL), unless it was lost already.
    /// Throws nats_error when nats-server cannot be asked.
    void release(const lease& held);

    /// The instance holding the partition, or nullopt when it is free.
    [[nodiscard]] std::optional<std::string> holder(std::uint32_t partition) const;

    [[nodiscard]] const std::string& instance() const noexcept { return settings_.instance; }
    /// How long a lease lives unrenewed: the bucket's TTL, which the instance that created the
    /// bucket chose (settings.ttl only when that was this one).
    [[nodiscard]] std::chrono::milliseconds ttl() const noexcept { return ttl_; }

private:
    lease_settings settings_;
    versioned_bucket bucket_;
    std::string holding_;  ///< the value of this table's leases: "<instance>#<incarnation>"
    std::chrono::milliseconds ttl_;
};

}  // namespace cluster
