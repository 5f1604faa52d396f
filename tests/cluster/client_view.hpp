#pragma once
// What one client of a cascade's origin saw: the events streamed to it and its done.

#include "cluster/origin_desk.hpp"

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace cluster_test {

struct client_view {
    std::mutex mutex;
    std::vector<std::string> events;
    int done = 0;
    std::size_t events_at_done = 0;

    /// Calls into this view: it must outlive whatever may call them.
    [[nodiscard]] cluster::cascade_watch watcher() {
        return {.on_event =
                    [this](std::string_view event) {
                        const std::scoped_lock lock{mutex};
                        events.emplace_back(event);
                    },
                .on_done =
                    [this] {
                        const std::scoped_lock lock{mutex};
                        ++done;
                        events_at_done = events.size();
                    }};
    }
    [[nodiscard]] int dones() {
        const std::scoped_lock lock{mutex};
        return done;
    }
};

}  // namespace cluster_test
