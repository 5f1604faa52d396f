#pragma once
// One instance of a cluster: the bus's message flow across instances, with the handling itself
// left to a message_handler (the bus, once it runs on the cluster). A submit is watched by this
// instance's origin desk and published to its aggregate's partition; it is the client's ack
// once JetStream stored it. Whichever instance holds the partition's lease feeds its messages,
// one after another, to the handler: nats-server delivers a partition's next message only once
// the last one is acknowledged, so a retried one keeps its place. What the handler raised is
// published to its own aggregates' partitions, under ids derived from the message's (so that a
// redelivered message raising them again is de-duplicated), then reported to the cascade's
// origin, and only then is the message acknowledged: handling is at least once. The origin
// streams the events to its watcher and says done when its tally is empty.
//
// Known costs of this first version: those publishes wait for nats-server on an executor
// thread, and one message per partition is in hand at a time. The executor must run until the
// node is destroyed.

#include "cluster/cluster_message.hpp"
#include "cluster/delivery_feed.hpp"
#include "cluster/inbound_stream.hpp"
#include "cluster/nats_client.hpp"
#include "cluster/origin_desk.hpp"
#include "cluster/partition_ownership.hpp"
#include "cluster/partitioning.hpp"
#include "cluster/report_stream.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace cluster {

/// An event a handler raised: the aggregate whose partition handles it, and its wire form.
struct raised_message {
    std::string aggregate;
    std::string body;
};

/// Handles one message on this instance and returns what it raised, in order. Called from every
/// owned partition's strand, so concurrently for different partitions. Throwing leaves the
/// message for redelivery (after the ack wait): handling is at least once.
using message_handler = std::function<boost::asio::awaitable<std::vector<raised_message>>(const cluster_message&)>;

struct node_settings {
    std::string instance;  ///< unique in the cluster
    std::uint32_t partitions = 64;
    std::chrono::milliseconds lease_ttl{5000};  ///< used when this instance creates the lease bucket
    feed_settings feed;                         ///< each owned partition's; its window is always 1
};

class node {
public:
    /// Joins the cluster: makes or binds the streams, starts reading its reports and claiming its
    /// share of the partitions. Throws nats_error.
    node(nats_client& client, node_settings settings, const boost::asio::any_io_executor& executor,
         message_handler handler);
    /// leave().
    ~node();
    node(const node&) = delete;
    node& operator=(const node&) = delete;

    /// Starts a cascade whose submitted message is `id`: `watcher` hears of its events and its
    /// end. Returns once JetStream stored the message; `duplicate` when the id was stored before
    /// (nothing runs again, and this watcher is not kept). Throws nats_error (retryable() when
    /// nats-server is away: the message may have been stored all the same, so the watcher stays,
    /// and submitting again under the id is safe and keeps the first watcher), and
    /// std::invalid_argument for an id with a '.' (raised events' ids are "<parent>.<n>").
    publish_receipt submit(const std::string& id, const std::string& aggregate, const std::string& body,
                           cascade_watch watcher);

    /// Hands every partition over and leaves. Idempotent.
    void leave() noexcept;
    /// Stops consuming and releases nothing, as a crashed process does: the others take its
    /// partitions over once the leases expire. Handlers under way finish first.
    void abandon() noexcept;

    /// The partitions this instance handles now.
    [[nodiscard]] std::vector<std::uint32_t> held() const { return ownership_->held(); }

private:
    [[nodiscard]] boost::asio::awaitable<void> handle(const delivery& message);
    /// Publishes what `handled` raised to their partitions and reports it to the origin.
    void pass_on(const cluster_message& handled, std::vector<raised_message> raised);
    [[nodiscard]] bool start_consuming(const lease& held);
    void stop_consuming(std::uint32_t partition);
    void stop_all() noexcept;

    node_settings settings_;
    nats_client* client_;
    boost::asio::any_io_executor executor_;
    message_handler handler_;
    partitioning partitioning_;
    inbound_stream inbound_;
    report_stream reports_;
    origin_desk desk_;
    std::mutex feeds_mutex_;
    std::map<std::uint32_t, std::unique_ptr<delivery_feed>> feeds_;
    std::optional<partition_ownership> ownership_;  ///< last: it starts once everything above exists
};

}  // namespace cluster
