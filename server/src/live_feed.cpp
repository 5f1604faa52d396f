#include "gateway/live_feed.hpp"

#include "gateway/protocol.hpp"

#include <algorithm>
#include <exception>
#include <stdexcept>

namespace gateway {
namespace {

bool accepts(const std::vector<std::string>& wanted, std::string_view value) noexcept {
    return wanted.empty() || std::find(wanted.begin(), wanted.end(), value) != wanted.end();
}

/// Where `start` points in `log`, or why it points nowhere.
join_result place(const log_start& start, const event_log& log) noexcept {
    join_result result{.answer = join_result::verdict::joined,
                       .start_seq = log.last_seq() + 1,
                       .oldest_seq = log.oldest_seq(),
                       .last_seq = log.last_seq(),
                       .epoch = log.epoch()};
    switch (start.from) {
        case log_start::point::now:
            break;
        case log_start::point::earliest:
            result.start_seq = log.oldest_seq();
            break;
        case log_start::point::seq:
            result.start_seq = start.seq;
            if ((start.epoch && *start.epoch != log.epoch()) || start.seq < log.oldest_seq()) {
                result.answer = join_result::verdict::expired;
            } else if (start.seq > log.last_seq() + 1) {
                result.answer = join_result::verdict::ahead;
            }
            break;
    }
    return result;
}

}  // namespace

bool feed_filter::matches(std::string_view name, std::string_view aggregate) const noexcept {
    return accepts(names, name) && accepts(aggregates, aggregate);
}

join_result live_feed::add(std::shared_ptr<outbox> out, std::string id, feed_filter filter, const log_start& start) {
    const std::scoped_lock lock{mutex_};
    log_.expire(event_log::clock::now());
    const auto result = place(start, log_);
    if (result.answer != join_result::verdict::joined) {
        return result;
    }
    auto& session = sessions_[out.get()];
    const auto [it, added] = session.try_emplace(id, subscription{.out = std::move(out),
                                                                  .id = id,
                                                                  .filter = std::move(filter),
                                                                  .next_seq = result.start_seq,
                                                                  .live = result.start_seq > log_.last_seq()});
    if (!added) {
        throw std::invalid_argument{"live feed: subscription '" + id + "' is there already"};
    }
    ++size_;
    auto& s = it->second;
    auto joined = result;
    try {
        index_.insert(&s, s.filter.names, s.filter.aggregates);
        // Queued under the lock, so no event of this subscription can overtake it.
        (void)s.out->send(protocol::subscribed_frame(s.id, result.epoch, result.start_seq, s.filter.names));
        // The first step at once: a start at the oldest seq must not expire before it is read.
        joined.live = step_locked(s) == catch_up_state::live;
    } catch (...) {
        erase_locked(s);  // no subscription is left that nothing would move
        throw;
    }
    return joined;
}

catch_up_state live_feed::catch_up(const outbox& out, const std::string& id) {
    const std::scoped_lock lock{mutex_};
    auto* s = find_locked(out, id);
    if (s == nullptr) {
        return catch_up_state::gone;
    }
    log_.expire(event_log::clock::now());
    return step_locked(*s);
}

catch_up_state live_feed::step_locked(subscription& s) {
    if (s.live) {
        return catch_up_state::live;
    }
    if (s.next_seq < log_.oldest_seq()) {
        erase_locked(s);
        return catch_up_state::expired;
    }
    // Bounded so that one step holds the lock briefly, however little of the log matches.
    constexpr std::size_t max_step_frames = 256;
    constexpr std::size_t max_step_reads = 4096;
    const auto budget = s.out->backlog_room();
    const auto max_frames = std::min(budget.frames, max_step_frames);
    std::size_t sent = 0;
    std::size_t bytes = 0;
    std::size_t read = 0;
    for (auto logged = log_.from(s.next_seq); logged != log_.end() && sent < max_frames && read < max_step_reads;
         ++logged, ++read) {
        if (s.filter.matches(logged->name, logged->aggregate)) {
            auto frame = protocol::feed_event_frame(s.id, logged->seq, logged->body);
            if ((sent > 0 || !budget.empty) && bytes + frame.size() > budget.bytes) {
                break;  // the rest at the next step, once the client has read some
            }
            bytes += frame.size();
            if (!s.out->send(std::move(frame))) {
                erase_locked(s);
                return catch_up_state::gone;
            }
            ++sent;
        }
        s.next_seq = logged->seq + 1;  // only once it is sent: a throw above leaves no gap
    }
    // It is in the index already: from here on publish feeds it, under this same lock.
    s.live = s.next_seq > log_.last_seq();
    return s.live ? catch_up_state::live : catch_up_state::behind;
}

void live_feed::remove(const outbox& out, const std::string& id) {
    const std::scoped_lock lock{mutex_};
    if (auto* s = find_locked(out, id); s != nullptr) {
        erase_locked(*s);
    }
}

void live_feed::remove_all(const outbox& out) {
    const std::scoped_lock lock{mutex_};
    const auto session = sessions_.find(&out);
    if (session == sessions_.end()) {
        return;
    }
    for (auto& [id, s] : session->second) {
        index_.erase(&s, s.filter.names, s.filter.aggregates);
    }
    size_ -= session->second.size();
    sessions_.erase(session);
}

void live_feed::publish(const cascade::envelope& event, const numbered& first) {
    auto body = protocol::event_body(event);
    const std::scoped_lock lock{mutex_};
    const auto seq = log_.append(event.name(), event.aggregate(), body, event.timestamp);
    std::exception_ptr first_failed;
    if (first) {
        try {
            first(seq, body);
        } catch (...) {
            first_failed = std::current_exception();  // the subscriptions still get the numbered event
        }
    }
    index_.for_each_candidate(event.name(), event.aggregate(), [&](const subscription& s) {
        // A catching-up subscription reads this event from the log when it gets there.
        if (s.live && s.filter.matches(event.name(), event.aggregate())) {
            // A slow subscriber overflows its own queue and is disconnected; the others go on.
            (void)s.out->send(protocol::feed_event_frame(s.id, seq, body));
        }
    });
    if (first_failed) {
        std::rethrow_exception(first_failed);
    }
}

log_bounds live_feed::bounds() const {
    const std::scoped_lock lock{mutex_};
    return {.epoch = log_.epoch(), .oldest_seq = log_.oldest_seq(), .last_seq = log_.last_seq()};
}

std::size_t live_feed::size() const {
    const std::scoped_lock lock{mutex_};
    return size_;
}

live_feed::subscription* live_feed::find_locked(const outbox& out, std::string_view id) {
    const auto session = sessions_.find(&out);
    if (session == sessions_.end()) {
        return nullptr;
    }
    const auto it = session->second.find(id);
    return it == session->second.end() ? nullptr : &it->second;
}

void live_feed::erase_locked(subscription& s) noexcept {
    index_.erase(&s, s.filter.names, s.filter.aggregates);
    const auto session = sessions_.find(s.out.get());
    session->second.erase(session->second.find(std::string_view{s.id}));  // destroys s
    --size_;
    if (session->second.empty()) {
        sessions_.erase(session);
    }
}

}  // namespace gateway
