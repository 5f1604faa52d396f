#include "cluster/delivery.hpp"

#include "cluster/nats_error.hpp"

namespace cluster {

delivery::delivery(message_handle message) : message_{std::move(message)} {
    const char* id = nullptr;
    if (natsMsgHeader_Get(message_.get(), "Nats-Msg-Id", &id) == NATS_OK && id != nullptr) {
        msg_id_ = id;  // owned by the message
    }
    jsMsgMetaData* raw = nullptr;
    throw_unless_ok(natsMsg_GetMetaData(&raw, message_.get()), "reading a delivery's metadata");
    const metadata_handle metadata{raw};
    stream_seq_ = metadata->Sequence.Stream;
    delivery_count_ = metadata->NumDelivered;
}

std::string_view delivery::payload() const noexcept {
    return {natsMsg_GetData(message_.get()), static_cast<std::size_t>(natsMsg_GetDataLength(message_.get()))};
}

void delivery::ack() {
    throw_unless_ok(natsMsg_Ack(message_.get(), nullptr), "acknowledging a delivery");
}

void delivery::ack_and_wait() {
    jsErrCode code{};
    throw_unless_ok(natsMsg_AckSync(message_.get(), nullptr, &code), "acknowledging a delivery");
}

void delivery::nak(std::chrono::milliseconds delay) {
    throw_unless_ok(natsMsg_NakWithDelay(message_.get(), delay.count(), nullptr), "asking for a redelivery");
}

}  // namespace cluster
