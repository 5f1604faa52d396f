#include "cluster/lease_table.hpp"

#include <random>
#include <string>
#include <utility>

namespace cluster {

namespace {

[[nodiscard]] std::string key_of(std::uint32_t partition) {
    return "partition." + std::to_string(partition);
}

constexpr std::string_view released{};  ///< the value of a lease given up
constexpr char incarnation_mark = '#';

/// "<instance>#<a nonce>": the same instance restarted is another holder.
[[nodiscard]] std::string holding_value(const std::string& instance) {
    std::random_device entropy;
    const auto nonce = (static_cast<std::uint64_t>(entropy()) << 32U) | entropy();
    return instance + incarnation_mark + std::to_string(nonce);
}

[[nodiscard]] std::optional<lease> leased(std::uint32_t partition, std::optional<std::uint64_t> revision) {
    if (!revision) {
        return std::nullopt;
    }
    return lease{.partition = partition, .revision = *revision};
}

}  // namespace

lease_table::lease_table(nats_client& client, lease_settings settings)
    : settings_{std::move(settings)},
      bucket_{client, bucket, settings_.ttl},
      holding_{holding_value(settings_.instance)},
      ttl_{bucket_.ttl()} {}

std::optional<lease> lease_table::try_claim(std::uint32_t partition) {
    const auto key = key_of(partition);
    const auto current = bucket_.get(key);
    if (!current) {  // never claimed, or expired
        return leased(partition, bucket_.create(key, holding_));
    }
    if (current->value == released) {
        return leased(partition, bucket_.update(key, holding_, current->revision));
    }
    return std::nullopt;
}

std::optional<lease> lease_table::renew(const lease& held) {
    return leased(held.partition, bucket_.update(key_of(held.partition), holding_, held.revision));
}

void lease_table::release(const lease& held) {
    (void)bucket_.update(key_of(held.partition), released, held.revision);
}

std::optional<std::string> lease_table::holder(std::uint32_t partition) const {
    auto current = bucket_.get(key_of(partition));
    if (!current || current->value == released) {
        return std::nullopt;
    }
    return current->value.substr(0, current->value.rfind(incarnation_mark));
}

}  // namespace cluster
