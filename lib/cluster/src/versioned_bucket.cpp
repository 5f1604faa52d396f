#include "cluster/versioned_bucket.hpp"

#include "cluster/nats_error.hpp"

#include <vector>

namespace cluster {

namespace {

[[nodiscard]] kv_store_handle open_bucket(jsCtx* jetstream, const std::string& name, std::chrono::milliseconds ttl) {
    kvStore* raw = nullptr;
    auto status = js_KeyValue(&raw, jetstream, name.c_str());
    if (status == NATS_NOT_FOUND) {
        kvConfig config;
        throw_unless_ok(kvConfig_Init(&config), "initialising a key-value configuration");
        config.Bucket = name.c_str();
        config.History = 1;
        config.TTL = std::chrono::nanoseconds{ttl}.count();
        status = js_CreateKeyValue(&raw, jetstream, &config);
    }
    kv_store_handle store{raw};
    throw_unless_ok(status, "opening the bucket " + name);
    return store;
}

/// Whether a failed write was nats-server refusing the expected revision: someone else wrote the
/// key first. libnats reports it as a plain NATS_ERR, told apart from other errors (a full
/// stream, say) only by the server's text.
[[nodiscard]] bool lost_the_race(natsStatus status) {
    return status == NATS_ERR && last_error_of(status).find("wrong last sequence") != std::string_view::npos;
}

/// A compare-and-set's answer: the new revision, or nullopt when another writer got there first.
[[nodiscard]] std::optional<std::uint64_t> revision_unless_conflict(natsStatus status, std::uint64_t revision,
                                                                    std::string_view key) {
    if (lost_the_race(status)) {
        return std::nullopt;
    }
    throw_unless_ok(status, "writing " + std::string{key});
    return revision;
}

}  // namespace

versioned_bucket::versioned_bucket(nats_client& client, const std::string& name, std::chrono::milliseconds ttl)
    : store_{open_bucket(client.jetstream(), name, ttl)} {}

std::optional<versioned_value> versioned_bucket::get(std::string_view key) const {
    const std::string name{key};
    kvEntry* raw = nullptr;
    const auto status = kvStore_Get(&raw, store_.get(), name.c_str());
    const kv_entry_handle entry{raw};
    if (status == NATS_NOT_FOUND) {
        return std::nullopt;
    }
    throw_unless_ok(status, "reading " + name);
    const auto* bytes = static_cast<const char*>(kvEntry_Value(raw));
    return versioned_value{.value = std::string(bytes, static_cast<std::size_t>(kvEntry_ValueLen(raw))),
                           .revision = kvEntry_Revision(raw)};
}

std::optional<std::uint64_t> versioned_bucket::create(std::string_view key, std::string_view value) {
    const std::string name{key};
    std::uint64_t revision = 0;
    const auto status =
        kvStore_Create(&revision, store_.get(), name.c_str(), value.data(), static_cast<int>(value.size()));
    return revision_unless_conflict(status, revision, key);
}

std::optional<std::uint64_t> versioned_bucket::update(std::string_view key, std::string_view value,
                                                      std::uint64_t expected) {
    const std::string name{key};
    std::uint64_t revision = 0;
    const auto status =
        kvStore_Update(&revision, store_.get(), name.c_str(), value.data(), static_cast<int>(value.size()), expected);
    return revision_unless_conflict(status, revision, key);
}

std::uint64_t versioned_bucket::put(std::string_view key, std::string_view value) {
    const std::string name{key};
    std::uint64_t revision = 0;
    throw_unless_ok(kvStore_Put(&revision, store_.get(), name.c_str(), value.data(), static_cast<int>(value.size())),
                    "writing " + name);
    return revision;
}

void versioned_bucket::erase(std::string_view key) {
    const std::string name{key};
    throw_unless_ok(kvStore_Delete(store_.get(), name.c_str()), "erasing " + name);
}

std::chrono::milliseconds versioned_bucket::ttl() const {
    kvStatus* raw = nullptr;
    const auto status = kvStore_Status(&raw, store_.get());
    const kv_status_handle bucket_status{raw};
    throw_unless_ok(status, "reading the bucket's status");
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::nanoseconds{kvStatus_TTL(raw)});
}

std::vector<std::string> versioned_bucket::keys() const {
    kvKeysList list{};
    const auto status = kvStore_Keys(&list, store_.get(), nullptr);
    std::vector<std::string> names;
    for (int i = 0; i < list.Count; ++i) {
        names.emplace_back(list.Keys[i]);
    }
    kvKeysList_Destroy(&list);
    if (status == NATS_NOT_FOUND) {  // an empty bucket
        return {};
    }
    throw_unless_ok(status, "listing the keys");
    return names;
}

}  // namespace cluster
