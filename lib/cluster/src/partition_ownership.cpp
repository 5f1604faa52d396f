#include "cluster/partition_ownership.hpp"

#include "cluster/nats_error.hpp"

#include <algorithm>
#include <stdexcept>

namespace cluster {

namespace {

[[nodiscard]] ownership_settings checked(ownership_settings settings) {
    if (settings.partitions == 0) {
        throw std::invalid_argument{"a cluster needs at least one partition"};
    }
    return settings;
}

/// The TTL leases live by; a bucket that keeps them forever would let a crashed instance hold its
/// partitions forever.
[[nodiscard]] std::chrono::milliseconds lease_lifetime(const lease_table& leases) {
    if (leases.ttl() <= std::chrono::milliseconds::zero()) {
        throw std::invalid_argument{std::string{"the bucket "} + lease_table::bucket + " keeps leases forever"};
    }
    return leases.ttl();
}

}  // namespace

std::size_t fair_share(std::uint32_t partitions, std::size_t alive, std::size_t rank) noexcept {
    alive = std::max<std::size_t>(alive, 1);
    return partitions / alive + (rank < partitions % alive ? 1 : 0);
}

partition_ownership::partition_ownership(nats_client& client, ownership_settings settings, ownership_handlers handlers)
    : settings_{checked(std::move(settings))},
      handlers_{std::move(handlers)},
      leases_{client, {.instance = settings_.instance, .ttl = settings_.lease_ttl}},
      ttl_{lease_lifetime(leases_)},
      roster_{client, settings_.instance, settings_.lease_ttl},
      balancer_{[this](const std::stop_token& stop) { run(stop); }} {}

partition_ownership::~partition_ownership() {
    leave();
}

void partition_ownership::leave() noexcept {
    if (!balancer_.joinable()) {
        return;
    }
    balancer_.request_stop();
    balancer_.join();
    if (handlers_.leaving) {
        handlers_.leaving();  // every partition's consumer at once, rather than one lost at a time
    }
    while (!held_.empty()) {
        release(held_.begin());
    }
    try {
        roster_.leave();
    } catch (const nats_error&) {
        // The roster forgets this instance at the TTL anyway.
    }
}

void partition_ownership::abandon() noexcept {
    if (balancer_.joinable()) {
        balancer_.request_stop();
        balancer_.join();
    }
    const std::scoped_lock lock{mutex_};
    held_.clear();  // still leased at nats-server until the TTL, but not consumed here any more
}

std::vector<std::uint32_t> partition_ownership::held() const {
    const std::scoped_lock lock{mutex_};
    std::vector<std::uint32_t> partitions;
    for (const auto& [partition, holding] : held_) {
        partitions.push_back(partition);
    }
    return partitions;
}

std::optional<lease> partition_ownership::current_lease(std::uint32_t partition) const {
    const std::scoped_lock lock{mutex_};
    const auto found = held_.find(partition);
    if (found == held_.end()) {
        return std::nullopt;
    }
    return found->second.current;
}

void partition_ownership::run(const std::stop_token& stop) {
    while (!stop.stop_requested()) {
        try {
            balance();
        } catch (const std::exception&) {
            // A round that failed (memory, say) is tried again at the next one.
        }
        std::unique_lock lock{wake_mutex_};
        (void)wake_.wait_for(lock, stop, ttl_ / 4, [] { return false; });
    }
}

void partition_ownership::balance() {
    try {
        roster_.heartbeat();
    } catch (const nats_error&) {
        // Unreachable for now: the leases below decide what is still held.
    }
    renew_all();
    if (const auto target = share()) {
        release_down_to(*target);
        claim_up_to(*target);
    }
}

void partition_ownership::renew_all() {
    for (auto held = held_.begin(); held != held_.end();) {
        const auto asked = std::chrono::steady_clock::now();
        // A renewal this late could land after nats-server gave the lease away: not tried.
        bool lost = asked >= held->second.valid_until;
        if (!lost) {
            try {
                const auto renewed = leases_.renew(held->second.current);
                lost = !renewed;  // expired, and someone else has it
                if (renewed) {
                    const std::scoped_lock lock{mutex_};
                    held->second = {.current = *renewed, .valid_until = validity_from(asked)};
                }
            } catch (const nats_error&) {
                lost = std::chrono::steady_clock::now() >= held->second.valid_until;
            }
        }
        const auto next = std::next(held);
        if (lost) {
            drop(held);
        }
        held = next;
    }
}

std::optional<std::size_t> partition_ownership::share() {
    std::vector<std::string> alive;
    try {
        alive = roster_.members();
    } catch (const nats_error&) {
        return std::nullopt;  // no balancing without knowing who is alive
    }
    // Not listed yet (its first heartbeat failed): it counts itself, last.
    const auto self = std::ranges::find(alive, settings_.instance);
    const auto rank = static_cast<std::size_t>(self - alive.begin());
    return fair_share(settings_.partitions, alive.size() + (self == alive.end() ? 1 : 0), rank);
}

void partition_ownership::claim_up_to(std::size_t share) {
    // Each instance starts looking at a different partition, so that joining instances do not
    // all contend for the same free ones.
    const auto start = std::hash<std::string>{}(settings_.instance) % settings_.partitions;
    for (std::uint32_t i = 0; i < settings_.partitions && held_.size() < share; ++i) {
        const auto partition = static_cast<std::uint32_t>((start + i) % settings_.partitions);
        if (held_.contains(partition)) {
            continue;
        }
        const auto asked = std::chrono::steady_clock::now();
        std::optional<lease> claimed;
        try {
            claimed = leases_.try_claim(partition);
        } catch (const nats_error&) {
            return;  // try again at the next round
        }
        if (!claimed) {
            continue;
        }
        // Held before the instance hears of it, so that current_lease answers from the first
        // delivery on.
        {
            const std::scoped_lock lock{mutex_};
            held_.emplace(partition, holding{.current = *claimed, .valid_until = validity_from(asked)});
        }
        if (!handlers_.gained(*claimed)) {
            {
                const std::scoped_lock lock{mutex_};
                held_.erase(partition);
            }
            give_back(*claimed);
            return;  // the instance cannot consume now: try again at the next round
        }
    }
}

void partition_ownership::release_down_to(std::size_t share) {
    // A few per round: each waits for its partition's consumer to stop, and the leases kept must
    // be renewed meanwhile.
    constexpr std::size_t per_round = 4;
    for (std::size_t released = 0; held_.size() > share && released < per_round; ++released) {
        release(std::prev(held_.end()));
    }
}

void partition_ownership::drop(holdings::iterator held) {
    handlers_.lost(held->first);
    const std::scoped_lock lock{mutex_};
    held_.erase(held);
}

void partition_ownership::release(holdings::iterator held) noexcept {
    const auto released = held->second.current;
    drop(held);
    give_back(released);
}

void partition_ownership::give_back(const lease& released) noexcept {
    try {
        leases_.release(released);
    } catch (const nats_error&) {
        // It expires at the TTL instead.
    }
}

std::chrono::steady_clock::time_point partition_ownership::validity_from(
    std::chrono::steady_clock::time_point written) const noexcept {
    // nats-server counts the TTL from its own write, which comes after `written`: three quarters
    // of it leave the last quarter as margin for clocks and the wire.
    return written + ttl_ * 3 / 4;
}

}  // namespace cluster
