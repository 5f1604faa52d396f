#pragma once
// A JetStream key-value bucket as a map of versioned values: every write gives the key a new
// revision, and a write can demand the revision it last read (compare-and-set), so that of two
// writers that read the same value only the first one's write lands. Leases and shared aggregate
// state (the revision as the book's version number) rest on it.

#include "cluster/nats_client.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cluster {

struct versioned_value {
    std::string value;
    std::uint64_t revision = 0;
};

class versioned_bucket {
public:
    /// Binds to `name`, or creates it keeping one value per key; `ttl` > 0: nats-server removes
    /// an entry that long after its last write. Throws nats_error.
    versioned_bucket(nats_client& client, const std::string& name, std::chrono::milliseconds ttl = {});

    /// The key's value and revision; nullopt when it was never written, expired or was erased.
    /// Throws nats_error.
    [[nodiscard]] std::optional<versioned_value> get(std::string_view key) const;

    /// Writes `value` if the key has none; its revision, or nullopt when another writer got there
    /// first. Throws nats_error when nats-server cannot be asked.
    [[nodiscard]] std::optional<std::uint64_t> create(std::string_view key, std::string_view value);

    /// Writes `value` if the key's revision is still `expected`; the new revision, or nullopt
    /// when someone wrote it since. Throws nats_error when nats-server cannot be asked.
    [[nodiscard]] std::optional<std::uint64_t> update(std::string_view key, std::string_view value,
                                                      std::uint64_t expected);

    /// Writes `value` whatever the key holds; its revision. Throws nats_error.
    std::uint64_t put(std::string_view key, std::string_view value);

    /// Removes the key (it reads as never written). Throws nats_error.
    void erase(std::string_view key);

    /// How long after its last write nats-server keeps an entry: the bucket's, as its creator set
    /// it (0: forever). Throws nats_error.
    [[nodiscard]] std::chrono::milliseconds ttl() const;

    /// Every key with a value, in no particular order. Throws nats_error.
    [[nodiscard]] std::vector<std::string> keys() const;

private:
    kv_store_handle store_;
};

}  // namespace cluster
