#include "cluster/streams.hpp"

#include "cluster/nats_error.hpp"

namespace cluster {

namespace {

/// The stream's information, or null when there is no such stream.
[[nodiscard]] stream_info_handle stream_info(jsCtx* jetstream, const std::string& name) {
    jsStreamInfo* raw = nullptr;
    jsErrCode code{};
    const auto status = js_GetStreamInfo(&raw, jetstream, name.c_str(), nullptr, &code);
    stream_info_handle info{raw};
    if (status == NATS_NOT_FOUND) {
        return nullptr;
    }
    throw_unless_ok(status, "reading the stream " + name);
    return info;
}

[[nodiscard]] bool stream_exists(jsCtx* jetstream, const std::string& name) {
    return stream_info(jetstream, name) != nullptr;
}

}  // namespace

void ensure_stream(nats_client& client, const stream_definition& definition) {
    if (stream_exists(client.jetstream(), definition.name)) {
        return;
    }
    jsStreamConfig config;
    throw_unless_ok(jsStreamConfig_Init(&config), "initialising a stream configuration");
    const char* subjects[] = {definition.subjects.c_str()};
    config.Name = definition.name.c_str();
    config.Subjects = subjects;
    config.SubjectsLen = 1;
    config.Storage = definition.settings.in_memory ? js_MemoryStorage : js_FileStorage;
    config.Duplicates = std::chrono::nanoseconds{definition.settings.duplicate_window}.count();
    jsStreamInfo* raw = nullptr;
    jsErrCode code{};
    const auto status = js_AddStream(&raw, client.jetstream(), &config, nullptr, &code);
    const stream_info_handle info{raw};
    // Another instance may have created it between the look and the add: that is as good.
    if (status != NATS_OK && stream_exists(client.jetstream(), definition.name)) {
        return;
    }
    throw_unless_ok(status, "creating the stream " + definition.name);
}

std::uint64_t message_count(nats_client& client, const std::string& stream) {
    const auto info = stream_info(client.jetstream(), stream);
    if (!info) {
        throw nats_error{NATS_NOT_FOUND, "reading the stream " + stream + ": no such stream"};
    }
    return info->State.Msgs;
}

publish_receipt publish_once(nats_client& client, const std::string& stream, const std::string& subject,
                             std::string_view msg_id, std::string_view payload) {
    jsPubOptions options;
    throw_unless_ok(jsPubOptions_Init(&options), "initialising publish options");
    const std::string id{msg_id};
    options.MsgId = id.c_str();
    options.ExpectStream = stream.c_str();
    jsPubAck* raw = nullptr;
    jsErrCode code{};
    const auto status = js_Publish(&raw, client.jetstream(), subject.c_str(), payload.data(),
                                   static_cast<int>(payload.size()), &options, &code);
    const pub_ack_handle ack{raw};
    throw_unless_ok(status, "publishing " + id + " to " + subject);
    return {.seq = ack->Sequence, .duplicate = ack->Duplicate};
}

}  // namespace cluster
