#include "cluster/node.hpp"

#include "cluster/cascade_tally.hpp"
#include "cluster/nats_error.hpp"

#include <stdexcept>

namespace cluster {

namespace {

/// One message of a partition in hand at a time, and nats-server holding back the next until it
/// is acknowledged: a partition's order survives retries.
[[nodiscard]] node_settings one_at_a_time(node_settings settings) {
    settings.feed.window = 1;
    settings.feed.consumer.max_ack_pending = 1;
    return settings;
}

}  // namespace

node::node(nats_client& client, node_settings settings, const boost::asio::any_io_executor& executor,
           message_handler handler)
    : settings_{one_at_a_time(std::move(settings))},
      client_{&client},
      executor_{executor},
      handler_{std::move(handler)},
      partitioning_{settings_.partitions},
      inbound_{client, {}},
      reports_{client},
      desk_{client, settings_.instance, executor} {
    ownership_.emplace(
        client,
        ownership_settings{
            .instance = settings_.instance, .partitions = settings_.partitions, .lease_ttl = settings_.lease_ttl},
        ownership_handlers{.gained = [this](const lease& held) { return start_consuming(held); },
                           .lost = [this](std::uint32_t partition) { stop_consuming(partition); },
                           .leaving = [this] { stop_all(); }});
}

node::~node() {
    leave();
}

publish_receipt node::submit(const std::string& id, const std::string& aggregate, const std::string& body,
                             cascade_watch watcher) {
    if (id.find('.') != std::string::npos) {
        throw std::invalid_argument{"a submit id has no '.': " + id};
    }
    const bool watched_here = desk_.watch(id, std::move(watcher));
    const cluster_message message{
        .id = id, .cascade = id, .origin = settings_.instance, .aggregate = aggregate, .body = body};
    // On a failure the watch stays: the message may have been stored all the same.
    const auto receipt = inbound_.publish(partitioning_.partition_of(aggregate), id, encode_message(message));
    if (receipt.duplicate && watched_here) {
        desk_.forget(id);  // nothing will report on it: it ran (or runs) under another origin's watch
    }
    return receipt;
}

void node::leave() noexcept {
    ownership_->leave();  // each partition's feed stops (lost) before its lease is released
}

void node::abandon() noexcept {
    ownership_->abandon();
    stop_all();
}

boost::asio::awaitable<void> node::handle(const delivery& delivered) {
    cluster_message message;
    try {
        message = decode_message(delivered.payload());
    } catch (const std::invalid_argument&) {
        co_return;  // not a cluster message: acknowledged, so that it does not come back forever
    }
    auto raised = co_await handler_(message);
    pass_on(message, std::move(raised));
}

void node::pass_on(const cluster_message& handled, std::vector<raised_message> raised) {
    handled_report report{.cascade = handled.cascade, .message = handled.id, .events = {}};
    report.events.reserve(raised.size());
    for (std::size_t n = 0; n < raised.size(); ++n) {
        const cluster_message event{.id = raised_id(handled.id, n + 1),
                                    .cascade = handled.cascade,
                                    .origin = handled.origin,
                                    .aggregate = std::move(raised[n].aggregate),
                                    .body = std::move(raised[n].body)};
        (void)inbound_.publish(partitioning_.partition_of(event.aggregate), event.id, encode_message(event));
        report.events.push_back(event.body);
    }
    reports_.publish(handled.origin, report);
}

bool node::start_consuming(const lease& held) {
    std::unique_ptr<delivery_feed> feed;
    try {
        feed = std::make_unique<delivery_feed>(*client_, partition_spec(held.partition), settings_.feed, executor_,
                                               [this](const delivery& message) { return handle(message); });
    } catch (const nats_error&) {
        return false;  // its consumer cannot be made now: the lease goes back
    }
    const std::scoped_lock lock{feeds_mutex_};
    feeds_.insert_or_assign(held.partition, std::move(feed));
    return true;
}

void node::stop_consuming(std::uint32_t partition) {
    std::unique_ptr<delivery_feed> feed;
    {
        const std::scoped_lock lock{feeds_mutex_};
        const auto found = feeds_.find(partition);
        if (found == feeds_.end()) {
            return;
        }
        feed = std::move(found->second);
        feeds_.erase(found);
    }
    feed->stop();  // outside the lock: it waits for the partition's handlers
}

void node::stop_all() noexcept {
    std::map<std::uint32_t, std::unique_ptr<delivery_feed>> stopping;
    {
        const std::scoped_lock lock{feeds_mutex_};
        stopping.swap(feeds_);
    }
    for (auto& [partition, feed] : stopping) {
        feed->request_stop();  // all together: each then waits for its last fetch and handler
    }
    stopping.clear();
}

}  // namespace cluster
