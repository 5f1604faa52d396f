#include "cluster/durable_consumer.hpp"

#include "cluster/nats_error.hpp"

#include <utility>

namespace cluster {

durable_consumer::durable_consumer(nats_client& client, consumer_spec spec, const consumer_settings& settings)
    : spec_{std::move(spec)} {
    jsSubOptions options;
    throw_unless_ok(jsSubOptions_Init(&options), "initialising subscribe options");
    options.Stream = spec_.stream.c_str();
    options.Config.AckPolicy = js_AckExplicit;
    options.Config.AckWait = std::chrono::duration_cast<std::chrono::nanoseconds>(settings.ack_wait).count();
    options.Config.MaxAckPending = settings.max_ack_pending;
    // Created through the subscription, and kept: the subscription is only ever destroyed, never
    // unsubscribed or drained, which would delete the durable consumer and its ack floor.
    natsSubscription* raw = nullptr;
    jsErrCode code{};
    const auto status = js_PullSubscribe(&raw, client.jetstream(), spec_.subject.c_str(), spec_.durable.c_str(),
                                         nullptr, &options, &code);
    subscription_.reset(raw);
    throw_unless_ok(status, "consuming " + spec_.subject);
}

std::vector<delivery> durable_consumer::fetch(int max, std::chrono::milliseconds wait) {
    // Owns what is still in the list (a throwing delivery constructor must not leak the rest).
    struct fetched_list {
        natsMsgList list{};
        ~fetched_list() { natsMsgList_Destroy(&list); }
    } batch;
    jsErrCode code{};
    const auto status = natsSubscription_Fetch(&batch.list, subscription_.get(), max, wait.count(), &code);
    std::vector<delivery> fetched;
    fetched.reserve(static_cast<std::size_t>(batch.list.Count));
    for (int i = 0; i < batch.list.Count; ++i) {
        message_handle message{std::exchange(batch.list.Msgs[i], nullptr)};
        fetched.emplace_back(std::move(message));
    }
    // A timeout is an empty fetch, or the end of a partial one.
    if (status != NATS_TIMEOUT) {
        throw_unless_ok(status, "fetching from " + spec_.subject);
    }
    return fetched;
}

}  // namespace cluster
