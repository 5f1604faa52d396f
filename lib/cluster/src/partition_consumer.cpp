#include "cluster/partition_consumer.hpp"

#include "cluster/inbound_stream.hpp"
#include "cluster/nats_error.hpp"
#include "cluster/partitioning.hpp"

#include <string>

namespace cluster {

partition_consumer::partition_consumer(nats_client& client, std::uint32_t partition, const consumer_settings& settings)
    : partition_{partition} {
    const auto subject = inbound_subject(partition);
    const auto durable = "partition-" + std::to_string(partition);
    jsSubOptions options;
    throw_unless_ok(jsSubOptions_Init(&options), "initialising subscribe options");
    options.Stream = inbound_stream::name;
    options.Config.AckPolicy = js_AckExplicit;
    options.Config.AckWait = std::chrono::duration_cast<std::chrono::nanoseconds>(settings.ack_wait).count();
    options.Config.MaxAckPending = settings.max_ack_pending;
    natsSubscription* raw = nullptr;
    jsErrCode code{};
    const auto status =
        js_PullSubscribe(&raw, client.jetstream(), subject.c_str(), durable.c_str(), nullptr, &options, &code);
    subscription_.reset(raw);
    throw_unless_ok(status, "consuming " + subject);
}

std::vector<delivery> partition_consumer::fetch(int max, std::chrono::milliseconds wait) {
    natsMsgList list{};
    jsErrCode code{};
    const auto status = natsSubscription_Fetch(&list, subscription_.get(), max, wait.count(), &code);
    std::vector<delivery> fetched;
    fetched.reserve(static_cast<std::size_t>(list.Count));
    for (int i = 0; i < list.Count; ++i) {
        fetched.emplace_back(message_handle{list.Msgs[i]});
        list.Msgs[i] = nullptr;  // owned by the delivery now
    }
    natsMsgList_Destroy(&list);
    if (status == NATS_TIMEOUT && fetched.empty()) {
        return fetched;
    }
    throw_unless_ok(status == NATS_TIMEOUT ? NATS_OK : status, "fetching from partition " + std::to_string(partition_));
    return fetched;
}

}  // namespace cluster
