#pragma once
// Ownership of libnats objects: each handle destroys its object with the library's own function.

#include <memory>
#include <nats/nats.h>

namespace cluster {

template <auto destroy>
struct nats_deleter {
    template <class T>
    void operator()(T* object) const noexcept {
        destroy(object);
    }
};

template <class T, auto destroy>
using nats_handle = std::unique_ptr<T, nats_deleter<destroy>>;

using options_handle = nats_handle<natsOptions, natsOptions_Destroy>;
using connection_handle = nats_handle<natsConnection, natsConnection_Destroy>;
using jetstream_handle = nats_handle<jsCtx, jsCtx_Destroy>;
using subscription_handle = nats_handle<natsSubscription, natsSubscription_Destroy>;
using message_handle = nats_handle<natsMsg, natsMsg_Destroy>;
using pub_ack_handle = nats_handle<jsPubAck, jsPubAck_Destroy>;
using stream_info_handle = nats_handle<jsStreamInfo, jsStreamInfo_Destroy>;
using metadata_handle = nats_handle<jsMsgMetaData, jsMsgMetaData_Destroy>;
using kv_store_handle = nats_handle<kvStore, kvStore_Destroy>;
using kv_entry_handle = nats_handle<kvEntry, kvEntry_Destroy>;
using kv_status_handle = nats_handle<kvStatus, kvStatus_Destroy>;

}  // namespace cluster
