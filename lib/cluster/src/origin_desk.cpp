#include "cluster/origin_desk.hpp"

#include "cluster/report_stream.hpp"

#include <optional>
#include <stdexcept>

namespace cluster {

origin_desk::origin_desk(nats_client& client, std::string instance, const boost::asio::any_io_executor& executor,
                         const feed_settings& settings)
    : stream_{client},
      reports_{client, report_stream::consumer_for(instance), settings, executor,
               [this](const delivery& message) { return on_report(message); }} {}

bool origin_desk::watch(const std::string& cascade, cascade_watch watcher) {
    const std::scoped_lock lock{mutex_};
    return watched_
        .try_emplace(cascade, watched{.tally = cascade_tally{cascade},
                                      .watcher = std::make_shared<const cascade_watch>(std::move(watcher))})
        .second;
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
    // The watcher is called outside the lock: it may watch or forget other cascades.
    const auto counted = count(report);
    if (!counted) {
        co_return;
    }
    for (const auto& event : report.events) {
        counted->watcher->on_event(event);
    }
    if (counted->done) {
        counted->watcher->on_done();
    }
}

std::optional<origin_desk::verdict> origin_desk::count(const handled_report& report) {
    const std::scoped_lock lock{mutex_};
    const auto found = watched_.find(report.cascade);
    if (found == watched_.end() || !found->second.tally.report(report.message, report.events.size())) {
        return std::nullopt;
    }
    if (!found->second.tally.done()) {
        return verdict{.watcher = found->second.watcher, .done = false};
    }
    verdict last{.watcher = std::move(found->second.watcher), .done = true};
    watched_.erase(found);
    return last;
}

}  // namespace cluster
