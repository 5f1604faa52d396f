#include "connection_registry.hpp"

#include <algorithm>

namespace gateway {

void connection_registry::apply(phase p, connection& conn) {
    if (p == phase::draining) {
        conn.begin_drain();
    } else if (p == phase::stopping) {
        conn.abort();
    }
}

bool connection_registry::add(std::uint64_t serial, const std::shared_ptr<connection>& conn, kind k) {
    phase p = phase::serving;
    {
        const std::scoped_lock lock{mutex_};
        p = phase_;
        if (p == phase::stopping) {
            return false;
        }
        entries_.insert_or_assign(serial, entry{.conn = conn, .k = k});
    }
    apply(p, *conn);
    return true;
}

bool connection_registry::reserve_session(std::uint64_t serial, std::size_t max_sessions) {
    const std::scoped_lock lock{mutex_};
    const auto it = entries_.find(serial);
    if (it == entries_.end() || websockets_ >= max_sessions) {
        return false;
    }
    if (it->second.k != kind::websocket) {
        it->second.k = kind::websocket;
        ++websockets_;
    }
    return true;
}

void connection_registry::replace(std::uint64_t serial, const std::shared_ptr<connection>& conn) {
    phase p = phase::serving;
    {
        const std::scoped_lock lock{mutex_};
        p = phase_;
        auto& e = entries_[serial];
        if (e.k != kind::websocket) {
            ++websockets_;  // not reserved first
        }
        e = entry{.conn = conn, .k = kind::websocket};
    }
    apply(p, *conn);
}

void connection_registry::remove(std::uint64_t serial) {
    const std::scoped_lock lock{mutex_};
    if (const auto it = entries_.find(serial); it != entries_.end()) {
        if (it->second.k == kind::websocket) {
            --websockets_;
        }
        entries_.erase(it);
    }
    if (entries_.empty()) {
        emptied_.notify_all();
    }
}

std::vector<std::shared_ptr<connection>> connection_registry::live_locked() const {
    std::vector<std::shared_ptr<connection>> out;
    out.reserve(entries_.size());
    for (const auto& [serial, e] : entries_) {
        if (auto conn = e.conn.lock()) {
            out.push_back(std::move(conn));
        }
    }
    return out;
}

void connection_registry::begin_drain() {
    std::vector<std::shared_ptr<connection>> live;
    {
        const std::scoped_lock lock{mutex_};
        if (phase_ != phase::serving) {
            return;
        }
        phase_ = phase::draining;
        live = live_locked();
    }
    for (const auto& conn : live) {
        conn->begin_drain();
    }
}

void connection_registry::abort_all() {
    std::vector<std::shared_ptr<connection>> live;
    {
        const std::scoped_lock lock{mutex_};
        phase_ = phase::stopping;
        live = live_locked();
    }
    for (const auto& conn : live) {
        conn->abort();
    }
}

void connection_registry::detach_all() {
    std::vector<std::shared_ptr<connection>> live;
    {
        const std::scoped_lock lock{mutex_};
        live = live_locked();
    }
    for (const auto& conn : live) {
        conn->detach();
    }
}

bool connection_registry::wait_empty(std::chrono::nanoseconds timeout) {
    std::unique_lock lock{mutex_};
    return emptied_.wait_for(lock, timeout, [this] { return entries_.empty(); });
}

std::size_t connection_registry::websocket_sessions() const {
    const std::scoped_lock lock{mutex_};
    return websockets_;
}

}  // namespace gateway
