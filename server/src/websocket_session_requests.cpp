// The requests of a WebSocket session: what each frame a client sends asks, checked against the
// connection's limits and the caller's claims, and answered through the outbox. The connection's
// life (reading, writing, closing) is in websocket_session.cpp.
#include "gateway/client_message.hpp"
#include "submit_tracker.hpp"
#include "websocket_session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace gateway {

namespace net = boost::asio;
using protocol::refusal;

void websocket_session::handle_frame(std::string_view text) {
    auto parsed = protocol::parse_request(text, state_->options.json);
    if (auto* error = std::get_if<protocol::request_error>(&parsed)) {
        reject(error->re.value_or(std::string{}), error->code, error->message);
        return;
    }
    auto& request = std::get<protocol::request>(parsed);
    try {
        std::visit([this](auto& r) { handle(r); }, request);
    } catch (const std::exception& e) {
        spdlog::error("session {}: request {} failed: {}", id_, protocol::id_of(request), e.what());
        reject(protocol::id_of(request), refusal::internal, e.what());
    }
}

void websocket_session::handle(protocol::submit_request& request) {
    if (draining_ || !state_->submitter.accepting()) {
        reject(request.id, refusal::shutting_down, "the server is shutting down");
        return;
    }
    if (const auto wait = submits_.take(); wait > token_bucket::clock::duration::zero()) {
        reject_rate(request.id, wait);
        return;
    }
    auto decoded = decode_client_message(state_->submitter.registry(), who_, request.name, request.data);
    if (auto* refused = std::get_if<message_refusal>(&decoded)) {
        reject(request.id, refused->code, refused->message);
        return;
    }
    auto& msg = std::get<cascade::any_message>(decoded);
    switch (outbox_->reserve_submit(request.id, state_->options.limits.max_in_flight)) {
        case outbox::reservation::reserved:
            break;
        case outbox::reservation::duplicate:
            reject_duplicate(request.id);
            return;
        case outbox::reservation::full:
            reject(request.id, refusal::overloaded,
                   "too many submits in flight on this connection (" +
                       std::to_string(state_->options.limits.max_in_flight) + ")");
            return;
        case outbox::reservation::closed:
            return;
    }
    // Journaled, the id is the submit's idempotency key across connections and restarts.
    const bool keyed = state_->submitter.keyed();
    auto tracker = std::make_shared<submit_tracker>(outbox_, request.id, keyed);
    cascade::submit_result admitted;
    try {
        admitted = state_->submitter.submit(std::move(msg), submit_tracker::observer(tracker),
                                            {.key = keyed ? request.id : std::string{}, .principal = who_.principal});
    } catch (...) {
        outbox_->release(request.id);
        throw;
    }
    if (!admitted) {
        outbox_->release(request.id);
        switch (admitted.status) {
            case cascade::admission::overloaded:
                reject(request.id, refusal::overloaded, "the bus is full; try again");
                break;
            case cascade::admission::duplicate_key:
                reject(request.id, refusal::duplicate_id,
                       "id: '" + request.id + "' names another message already; ids are idempotency keys");
                break;
            default:
                reject(request.id, refusal::shutting_down, "the server is shutting down");
                break;
        }
        return;
    }
    if (!keyed) {
        tracker->acknowledge(admitted.id);
    }
}

void websocket_session::handle(protocol::subscribe_request& request) {
    if (draining_) {
        reject(request.id, refusal::shutting_down, "the server is shutting down");
        return;
    }
    const auto allowed = who_.grants.narrow(request.names, state_->submitter.registry().names());
    if (allowed.answer == narrowed_names::verdict::refused) {
        reject(request.id, refusal::forbidden,
               request.names.empty() ? "names: this token's cascade.subscribe allows no event"
                                     : "names: none is within this token's cascade.subscribe");
        return;
    }
    if (allowed.answer == narrowed_names::verdict::narrowed) {
        request.names = allowed.names;  // the `subscribed` answer lists them
    }
    const auto cap = state_->options.limits.max_subscriptions;
    switch (outbox_->reserve_subscription(request.id, cap)) {
        case outbox::reservation::reserved:
            break;
        case outbox::reservation::duplicate:
            reject_duplicate(request.id);
            return;
        case outbox::reservation::full:
            reject(request.id, refusal::limit_exceeded,
                   "too many subscriptions on this connection (" + std::to_string(cap) + "); unsubscribe one first");
            return;
        case outbox::reservation::closed:
            return;
    }
    // The feed queues the `subscribed` answer itself, so no event of this subscription can overtake it.
    join_result joined;
    try {
        joined = state_->submitter.feed().add(
            outbox_, request.id,
            feed_filter{.names = std::move(request.names), .aggregates = std::move(request.aggregates)}, request.start);
    } catch (...) {
        outbox_->release(request.id);  // the feed kept nothing: the id is free, and the error says why
        throw;
    }
    const log_bounds log{.epoch = joined.epoch, .oldest_seq = joined.oldest_seq, .last_seq = joined.last_seq};
    switch (joined.answer) {
        case join_result::verdict::joined:
            if (!joined.live) {
                net::co_spawn(
                    executor_, [self = shared_from_this(), sub = request.id] { return self->catch_up(sub); },
                    [weak = weak_from_this(), sub = request.id](const std::exception_ptr& failed) {
                        if (auto self = weak.lock(); self && failed) {
                            self->abandon_catch_up(sub, failed);
                        }
                    });
            }
            return;
        case join_result::verdict::expired:
            outbox_->release(request.id);
            reject_offset(
                request.id, refusal::offset_expired,
                request.start.epoch && *request.start.epoch != joined.epoch
                    ? "epoch: that log is gone (the server restarted); this one is " + std::to_string(joined.epoch)
                    : "from_seq: " + std::to_string(joined.start_seq) +
                          " is older than the event log keeps; the oldest is " + std::to_string(joined.oldest_seq),
                log);
            return;
        case join_result::verdict::ahead:
            outbox_->release(request.id);
            reject_offset(request.id, refusal::bad_request,
                          "from_seq: " + std::to_string(joined.start_seq) + " is past the end of the event log (" +
                              std::to_string(joined.last_seq) + ")",
                          log);
            return;
    }
}

net::awaitable<void> websocket_session::catch_up(std::string sub) {
    auto& feed = state_->submitter.feed();
    net::steady_timer pause{executor_};
    for (;;) {
        switch (feed.catch_up(*outbox_, sub)) {
            case catch_up_state::live:
            case catch_up_state::gone:
                co_return;
            case catch_up_state::expired: {
                outbox_->release(sub);
                const auto bounds = feed.bounds();
                reject_offset(sub, refusal::offset_expired,
                              "the event log dropped events this subscription had not read yet (it read slower "
                              "than retention keeps them); the oldest is now " +
                                  std::to_string(bounds.oldest_seq),
                              bounds);
                co_return;
            }
            case catch_up_state::behind:
                break;
        }
        if (outbox_->backlog_room().frames == 0) {
            // The client has not read what it was sent: wait for the writer to drain some.
            pause.expires_after(std::chrono::milliseconds{2});
            co_await pause.async_wait(net::as_tuple(net::use_awaitable));
        } else {
            co_await net::post(executor_, net::use_awaitable);  // let the writer and the reader run
        }
    }
}

void websocket_session::abandon_catch_up(const std::string& sub, const std::exception_ptr& failed) {
    std::string what = "unknown failure";
    try {
        std::rethrow_exception(failed);
    } catch (const std::exception& e) {
        what = e.what();
    } catch (...) {  // NOLINT(bugprone-empty-catch): described as unknown
    }
    spdlog::error("session {}: subscription {} failed while catching up: {}", id_, sub, what);
    // The client is told, rather than left with a subscription that never moves again.
    state_->submitter.feed().remove(*outbox_, sub);
    outbox_->release(sub);
    reject(sub, refusal::internal, "the subscription failed while reading the event log: " + what);
}

void websocket_session::handle(protocol::unsubscribe_request& request) {
    if (outbox_->in_use(request.id)) {
        reject_duplicate(request.id);
        return;
    }
    if (!outbox_->is_subscription(request.sub)) {
        reject(request.id, refusal::bad_request, "sub: no subscription '" + request.sub + "' on this connection");
        return;
    }
    state_->submitter.feed().remove(*outbox_, request.sub);
    outbox_->release(request.sub);
    reply(protocol::unsubscribed_frame(request.id, request.sub));
}

void websocket_session::handle(protocol::ping_request& request) {
    if (outbox_->in_use(request.id)) {
        reject_duplicate(request.id);
        return;
    }
    reply(protocol::pong_frame(request.id));
}

void websocket_session::handle(protocol::catalog_request& request) {
    if (outbox_->in_use(request.id)) {
        reject_duplicate(request.id);
        return;
    }
    reply(protocol::catalog_frame(request.id, state_->submitter.bus().catalog()));
}

void websocket_session::reject_duplicate(const std::string& id) {
    reject(id, refusal::duplicate_id, "id: '" + id + "' is already in flight");
}

void websocket_session::reject_rate(const std::string& id, token_bucket::clock::duration retry_after) {
    state_->metrics.count_refusal(refusal::rate_limited);
    const auto limit = state_->options.limits.submit_rate;
    reply(protocol::rate_limited_frame(id, fmt::format("over this connection's submit rate ({}/s)", limit),
                                       std::chrono::ceil<std::chrono::milliseconds>(retry_after)));
}

void websocket_session::reject(std::string_view re, refusal code, std::string_view message) {
    state_->metrics.count_refusal(code);
    reply(protocol::error_frame(re, code, message));
}

void websocket_session::reject_offset(std::string_view re, refusal code, std::string_view message,
                                      const log_bounds& log) {
    state_->metrics.count_refusal(code);
    reply(protocol::offset_error_frame(re, code, message, log.epoch, log.oldest_seq, log.last_seq));
}

void websocket_session::reply(std::string frame) {
    (void)outbox_->send(std::move(frame));
}

}  // namespace gateway
