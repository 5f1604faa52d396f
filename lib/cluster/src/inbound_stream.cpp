#include "cluster/inbound_stream.hpp"

#include "cluster/partitioning.hpp"

#include <string>

namespace cluster {

inbound_stream::inbound_stream(nats_client& client, const stream_settings& settings) : client_{&client} {
    ensure_stream(client, {.name = name, .subjects = "cascade.in.*", .settings = settings});
}

publish_receipt inbound_stream::publish(std::uint32_t partition, std::string_view msg_id, std::string_view payload) {
    return publish_once(*client_, name, inbound_subject(partition), msg_id, payload);
}

consumer_spec partition_spec(std::uint32_t partition) {
    return {.stream = inbound_stream::name,
            .subject = inbound_subject(partition),
            .durable = "partition-" + std::to_string(partition)};
}

}  // namespace cluster
