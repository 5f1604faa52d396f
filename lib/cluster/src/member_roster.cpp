#include "cluster/member_roster.hpp"

#include <algorithm>

namespace cluster {

member_roster::member_roster(nats_client& client, std::string instance, std::chrono::milliseconds ttl)
    : instance_{std::move(instance)}, bucket_{client, bucket, ttl} {}

std::vector<std::string> member_roster::members() const {
    auto names = bucket_.keys();
    std::ranges::sort(names);
    return names;
}

}  // namespace cluster
