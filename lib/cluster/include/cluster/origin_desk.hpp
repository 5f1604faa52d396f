#pragma once
// A cascade's origin, the instance whose client submitted it: it watches the cascade while its
// messages are handled anywhere in the cluster, from the reports addressed to it. Each report's
// events go to the watcher in the order reports arrive (a report that comes again is skipped,
// events and all), and when the cascade's tally says nothing is left, the watcher is told it is
// done, once. Reports of a cascade nobody watches (its client left, or this instance restarted)
// are acknowledged and dropped.

#include "cluster/cascade_tally.hpp"
#include "cluster/delivery_feed.hpp"
#include "cluster/nats_client.hpp"
#include "cluster/report_stream.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace cluster {

/// What the origin does for one cascade's client. Called on the desk's strand, one at a time;
/// they must not throw.
struct cascade_watch {
    std::function<void(std::string_view event)> on_event;  ///< an event, in its wire form
    std::function<void()> on_done;                         ///< nothing of the cascade is left
};

class origin_desk {
public:
    /// Starts reading the reports addressed to `instance`, handling them on `executor`. Throws
    /// nats_error.
    origin_desk(nats_client& client, std::string instance, const boost::asio::any_io_executor& executor,
                const feed_settings& settings = {});

    /// Watches the cascade whose submitted message is `cascade`. Call it before the message is
    /// published: a report that came first would find nobody watching. False when the cascade is
    /// watched already (its watcher stays, this one is dropped).
    bool watch(const std::string& cascade, cascade_watch watcher);
    /// Stops watching (the client left); its reports are dropped from now on. A report being
    /// handled meanwhile may still call the watcher once after forget returns: what the watcher
    /// refers to is kept alive by the watcher itself (a shared_ptr to the session, say).
    void forget(const std::string& cascade);
    /// Cascades watched and not done.
    [[nodiscard]] std::size_t watching() const;

private:
    struct watched {
        cascade_tally tally;
        std::shared_ptr<const cascade_watch> watcher;  ///< shared with the report being handled
    };

    /// What a report means for its cascade's watcher.
    struct verdict {
        std::shared_ptr<const cascade_watch> watcher;
        bool done = false;
    };

    [[nodiscard]] boost::asio::awaitable<void> on_report(const delivery& message);
    /// Counts the report in its cascade's tally; nullopt when nobody watches it or it came again.
    [[nodiscard]] std::optional<verdict> count(const handled_report& report);

    mutable std::mutex mutex_;
    std::unordered_map<std::string, watched> watched_;
    report_stream stream_;   ///< made (or bound) before its consumer
    delivery_feed reports_;  ///< last: it starts once the map exists
};

}  // namespace cluster
