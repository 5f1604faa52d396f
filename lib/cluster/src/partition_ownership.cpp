#include "cluster/partition_ownership.hpp"

#include "cluster/nats_error.hpp"

#include <algorithm>

namespace cluster {

partition_ownership::partition_ownership(nats_client& client, ownership_settings settings, ownership_handlers handlers)
    : settings_{std::move(settings)},
      handlers_{std::move(handlers)},
      leases_{client, {.instance = settings_.instance, .ttl = settings_.lease_ttl}},
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
    release_all();
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
}

std::vector<std::uint32_t> partition_ownership::held() const {
    const std::scoped_lock lock{mutex_};
    std::vector<std::uint32_t> partitions;
    for (const auto& [partition, holding] : held_) {
        partitions.push_back(partition);
    }
    return partitions;
}

void partition_ownership::run(const std::stop_token& stop) {
    const auto period = settings_.lease_ttl / 4;
    while (!stop.stop_requested()) {
        balance();
        std::unique_lock lock{wake_mutex_};
        (void)wake_.wait_for(lock, stop, period, [] { return false; });
    }
}

void partition_ownership::balance() {
    try {
        roster_.heartbeat();
    } catch (const nats_error&) {
        // Unreachable for now: the leases below decide what is still held.
    }
    renew_all();
    std::size_t alive = 0;
    try {
        alive = roster_.members().size();
    } catch (const nats_error&) {
        return;  // no balancing without knowing who is alive
    }
    const auto share = (settings_.partitions + std::max<std::size_t>(alive, 1) - 1) / std::max<std::size_t>(alive, 1);
    release_down_to(share);
    claim_up_to(share);
}

void partition_ownership::renew_all() {
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::uint32_t> lost;
    for (auto& [partition, holding] : held_) {
        if (now >= holding.valid_until) {  // a renewal late enough to risk a second owner: no
            lost.push_back(partition);
            continue;
        }
        try {
            const auto renewed = leases_.renew(holding.current);
            if (renewed) {
                const std::scoped_lock lock{mutex_};
                holding = {.current = *renewed, .valid_until = validity_from(now)};
            } else {
                lost.push_back(partition);  // expired, and someone else has it
            }
        } catch (const nats_error&) {
            if (std::chrono::steady_clock::now() >= holding.valid_until) {
                lost.push_back(partition);
            }
        }
    }
    for (const auto partition : lost) {
        drop(partition);
    }
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
        if (claimed) {
            {
                const std::scoped_lock lock{mutex_};
                held_.emplace(partition, holding{.current = *claimed, .valid_until = validity_from(asked)});
            }
            handlers_.gained(*claimed);
        }
    }
}

void partition_ownership::release_down_to(std::size_t share) {
    while (held_.size() > share) {
        const auto last = std::prev(held_.end());
        const auto released = last->second.current;
        drop(last->first);
        try {
            leases_.release(released);
        } catch (const nats_error&) {
            // It expires at the TTL instead.
        }
    }
}

void partition_ownership::drop(std::uint32_t partition) {
    handlers_.lost(partition);
    const std::scoped_lock lock{mutex_};
    held_.erase(partition);
}

void partition_ownership::release_all() noexcept {
    while (!held_.empty()) {
        const auto first = held_.begin();
        const auto released = first->second.current;
        drop(first->first);
        try {
            leases_.release(released);
        } catch (const nats_error&) {
            // It expires at the TTL instead.
        }
    }
}

std::chrono::steady_clock::time_point partition_ownership::validity_from(
    std::chrono::steady_clock::time_point written) const {
    // nats-server counts the TTL from its own write, which comes after `written`: three quarters
    // of it leave the last quarter as margin for clocks and the wire.
    return written + settings_.lease_ttl * 3 / 4;
}

}  // namespace cluster
