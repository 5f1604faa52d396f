#include "cluster/origin_desk.hpp"

#include "cluster/report_stream.hpp"

#include <optional>
#include <stdexcept>

namespace cluster {

namespace {

/// The consumer of `instance`'s reports, once their stream exists.
[[nodiscard]] consumer_spec ready_reports_spec(nats_client& client, std::string_view instance) {
    const report_stream stream{client};
    return reports_spec(instance);
}

}  // namespace

origin_desk::origin_desk(nats_client& client, std::string instance, const boost::asio::any_io_executor& executor,
                         const feed_settings& settings)
    : reports_{client, ready_reports_spec(client, instance), settings, executor,
               [this](const delivery& message) { return on_report(message); }} {}

void origin_desk::watch(const std::string& cascade, cascade_watch watcher) {
    const std::scoped_lock lock{mutex_};
    watched_.insert_or_assign(cascade, watched{.tally = cascade_tally{cascade}, .watcher = std::move(watcher)});
}

void origin_desk::forget(const std::string& cascade) {
    const std::scoped_lock lock{mutex_};
    watched_.erase(cascade);
}

std::size_t origin_desk::watching() const {
    const std::scoped_lock lock{mutex_};
    return watched_.size();
}

boost::asio::awaitable<void> origin_desk::on_report(const delivery& message) {
    handled_report report;
    try {
        report = decode_report(message.payload());
    } catch (const std::invalid_argument&) {
        co_return;  // not ours to read: acknowledged, so that it does not come back forever
    }
    // The watcher's callbacks run outside the lock: they may watch or forget other cascades.
    std::optional<cascade_watch> to_call;
    bool done = false;
    {
        const std::scoped_lock lock{mutex_};
        const auto found = watched_.find(report.cascade);
        if (found == watched_.end() || !found->second.tally.report(report.message, report.events.size())) {
            co_return;  // nobody watches, or the report came again
        }
        done = found->second.tally.done();
        to_call = done ? std::move(found->second.watcher) : found->second.watcher;
        if (done) {
            watched_.erase(found);
        }
    }
    for (const auto& event : report.events) {
        to_call->on_event(event);
    }
    if (done) {
        to_call->on_done();
    }
}

}  // namespace cluster
