#include "cluster/inbound_stream.hpp"

#include "cluster/nats_error.hpp"
#include "cluster/partitioning.hpp"

#include <string>

namespace cluster {

namespace {

constexpr const char* all_partitions = "cascade.in.*";

[[nodiscard]] bool stream_exists(jsCtx* jetstream) {
    jsStreamInfo* raw = nullptr;
    jsErrCode code{};
    const auto status = js_GetStreamInfo(&raw, jetstream, inbound_stream::name, nullptr, &code);
    const stream_info_handle info{raw};
    if (status == NATS_NOT_FOUND) {
        return false;
    }
    throw_unless_ok(status, "reading the stream " + std::string{inbound_stream::name});
    return true;
}

}  // namespace

inbound_stream::inbound_stream(nats_client& client, const stream_settings& settings) : client_{&client} {
    if (stream_exists(client.jetstream())) {
        return;
    }
    jsStreamConfig config;
    throw_unless_ok(jsStreamConfig_Init(&config), "initialising a stream configuration");
    const char* subjects[] = {all_partitions};
    config.Name = name;
    config.Subjects = subjects;
    config.SubjectsLen = 1;
    config.Storage = settings.in_memory ? js_MemoryStorage : js_FileStorage;
    config.Duplicates = std::chrono::duration_cast<std::chrono::nanoseconds>(settings.duplicate_window).count();
    jsStreamInfo* raw = nullptr;
    jsErrCode code{};
    const auto status = js_AddStream(&raw, client.jetstream(), &config, nullptr, &code);
    const stream_info_handle info{raw};
    // Another instance may have created it between the look and the add: that is as good.
    if (status != NATS_OK && stream_exists(client.jetstream())) {
        return;
    }
    throw_unless_ok(status, "creating the stream " + std::string{name});
}

publish_receipt inbound_stream::publish(std::uint32_t partition, std::string_view msg_id, std::string_view payload) {
    jsPubOptions options;
    throw_unless_ok(jsPubOptions_Init(&options), "initialising publish options");
    const std::string id{msg_id};
    options.MsgId = id.c_str();
    options.ExpectStream = name;
    jsPubAck* raw = nullptr;
    jsErrCode code{};
    const auto subject = inbound_subject(partition);
    const auto status = js_Publish(&raw, client_->jetstream(), subject.c_str(), payload.data(),
                                   static_cast<int>(payload.size()), &options, &code);
    const pub_ack_handle ack{raw};
    throw_unless_ok(status, "publishing " + id + " to " + subject);
    return {.seq = ack->Sequence, .duplicate = ack->Duplicate};
}

std::uint64_t inbound_stream::message_count() const {
    jsStreamInfo* raw = nullptr;
    jsErrCode code{};
    const auto status = js_GetStreamInfo(&raw, client_->jetstream(), name, nullptr, &code);
    const stream_info_handle info{raw};
    throw_unless_ok(status, "reading the stream " + std::string{name});
    return info->State.Msgs;
}

}  // namespace cluster
