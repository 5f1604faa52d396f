#pragma once
// Which partition an aggregate belongs to: a stable hash of its key (FNV-1a, 64 bits) modulo a
// fixed count. Stable across processes, machines and releases: every instance must agree, and
// the stream keeps messages under these subjects, so changing the hash or the count re-homes
// aggregates.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace cluster {

class partitioning {
public:
    /// Throws std::invalid_argument when `count` is 0.
    explicit partitioning(std::uint32_t count) : count_{count} {
        if (count == 0) {
            throw std::invalid_argument{"a cluster needs at least one partition"};
        }
    }

    [[nodiscard]] std::uint32_t count() const noexcept { return count_; }

    [[nodiscard]] std::uint32_t partition_of(std::string_view aggregate_key) const noexcept {
        return static_cast<std::uint32_t>(fnv1a(aggregate_key) % count_);
    }

private:
    [[nodiscard]] static constexpr std::uint64_t fnv1a(std::string_view bytes) noexcept {
        std::uint64_t hash = 14695981039346656037ULL;
        for (const char byte : bytes) {
            hash ^= static_cast<unsigned char>(byte);
            hash *= 1099511628211ULL;
        }
        return hash;
    }

    std::uint32_t count_;
};

/// The subject a partition's inbound messages are published under: "cascade.in.<partition>".
[[nodiscard]] inline std::string inbound_subject(std::uint32_t partition) {
    return "cascade.in." + std::to_string(partition);
}

}  // namespace cluster
