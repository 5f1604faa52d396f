#include "websocket_session.hpp"

#include "gateway/client_message.hpp"
#include "submit_tracker.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/error.hpp>
#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <optional>
#include <utility>
#include <variant>

namespace gateway {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using protocol::refusal;

namespace {

constexpr auto with_error = net::as_tuple(net::deferred);

std::string describe_close(const websocket::close_reason& reason) {
    if (reason.code == websocket::close_code::none) {
        return "client closed (no code)";
    }
    std::string text = "client closed (" + std::to_string(reason.code);
    if (!reason.reason.empty()) {
        text += " " + std::string{reason.reason.data(), reason.reason.size()};
    }
    return text + ")";
}

}  // namespace

websocket_session::websocket_session(std::unique_ptr<ws_transport> transport, std::string id,
                                     std::shared_ptr<server_state> state, caller who)
    : transport_{std::move(transport)},
      executor_{transport_->get_executor()},
      id_{std::move(id)},
      remote_{transport_->remote()},
      state_{std::move(state)},
      who_{std::move(who)},
      outbox_{std::make_shared<outbox>(queue_limits{.max_frames = state_->options.limits.max_queued_frames,
                                                    .max_bytes = state_->options.limits.max_queued_bytes},
                                       protocol::disconnect_frame(protocol::close_slow_consumer, "slow consumer"))},
      bell_{executor_, 1},
      grace_{executor_},
      expiry_{executor_},
      submits_{state_->options.limits.submit_rate, state_->options.limits.submit_burst} {
    outbox_->attach(this);
}

websocket_session::~websocket_session() {
    // After this no bus thread reaches our bell or executor: they only see a closed outbox.
    detach();
}

net::awaitable<void> websocket_session::run(ws_transport::upgrade_request upgrade) {
    const auto ec = co_await transport_->accept(std::move(upgrade));
    if (ec) {
        spdlog::info("session {} from {}: handshake failed: {}", id_, remote_, ec.message());
        tear_down();
        co_return;
    }
    opened_ = true;
    gateway_metrics::add(state_->metrics.connections_opened);
    spdlog::info("session {} opened from {}", id_, remote_);
    const auto log = state_->submitter.feed().bounds();
    reply(protocol::welcome_frame(id_,
                                  {.max_frame_bytes = state_->options.limits.max_frame_bytes,
                                   .max_in_flight = state_->options.limits.max_in_flight,
                                   .max_queued_frames = state_->options.limits.max_queued_frames,
                                   .max_queued_bytes = state_->options.limits.max_queued_bytes,
                                   .max_subscriptions = state_->options.limits.max_subscriptions,
                                   .submit_rate = state_->options.limits.submit_rate},
                                  {.durable = state_->submitter.bus().durable(),
                                   .log_epoch = log.epoch,
                                   .last_seq = log.last_seq,
                                   .principal = who_.principal,
                                   .expires_at = who_.expires_at}));
    if (who_.expires_at) {
        // The coroutine holds the session; tear_down() cancels its wait.
        net::co_spawn(
            executor_, [self = shared_from_this(), at = *who_.expires_at] { return self->expire_at(at); },
            net::detached);
    }
    try {
        using namespace net::experimental::awaitable_operators;
        co_await (read_loop() && write_loop());
    } catch (const std::exception& e) {
        spdlog::error("session {}: {}", id_, e.what());
        note_reason(std::string{"internal error: "} + e.what());
    }
    tear_down();
}

net::awaitable<void> websocket_session::read_loop() {
    beast::flat_buffer buffer;
    for (;;) {
        const auto [ec, n] = co_await transport_->read(buffer);
        if (ec) {
            note_read_end(ec);
            break;
        }
        gateway_metrics::add(state_->metrics.frames_in);
        gateway_metrics::add(state_->metrics.bytes_in, n);
        if (transport_->got_text()) {
            handle_frame({static_cast<const char*>(buffer.cdata().data()), buffer.size()});
        } else {
            reject({}, refusal::bad_request, "binary frames are not supported: send JSON in text frames");
        }
        buffer.consume(buffer.size());
    }
    // Nothing more can be written once reading has failed or the close handshake is done.
    outbox_->close();
}

net::awaitable<void> websocket_session::write_loop() {
    std::vector<std::string> batch;
    for (;;) {
        batch.clear();
        const auto state = outbox_->take(batch);
        if (state == outbox::queue_state::closed) {
            co_return;
        }
        if (batch.empty()) {
            if (draining_ && outbox_->quiescent()) {
                co_await close_for_restart();
                co_return;
            }
            (void)co_await bell_.async_receive(with_error);
            continue;
        }
        if (!co_await write_batch(batch)) {
            co_return;
        }
        if (state != outbox::queue_state::open) {
            // The disconnect frame was the last of this batch.
            co_await close_after_last_frame(state);
            co_return;
        }
        if (draining_ && outbox_->submits_in_flight() == 0) {
            // Every `done` is queued by now: send what is left once and close, even if the client
            // keeps sending frames that would keep the queue from ever being empty.
            batch.clear();
            const auto last = outbox_->take(batch);
            if (last == outbox::queue_state::closed || (!batch.empty() && !co_await write_batch(batch))) {
                co_return;
            }
            if (last == outbox::queue_state::open) {
                co_await close_for_restart();
            } else {
                co_await close_after_last_frame(last);
            }
            co_return;
        }
    }
}

net::awaitable<bool> websocket_session::write_batch(const std::vector<std::string>& batch) {
    const auto [ec, bytes] = co_await transport_->write(batch);
    if (ec) {
        note_reason("write failed: " + ec.message());
        cut("write failed");
        co_return false;
    }
    gateway_metrics::add(state_->metrics.frames_out, batch.size());
    gateway_metrics::add(state_->metrics.bytes_out, bytes);
    outbox_->written(batch.size(), bytes);
    co_return true;
}

net::awaitable<void> websocket_session::close_after_last_frame(outbox::queue_state state) {
    if (state == outbox::queue_state::overflowed) {
        co_await close_with(protocol::close_slow_consumer, "slow consumer");
    } else {
        // The only other ending today: the token expired.
        co_await close_with(protocol::close_token_expired, "token expired");
    }
}

net::awaitable<void> websocket_session::close_for_restart() {
    co_await close_with(static_cast<std::uint16_t>(websocket::close_code::service_restart), "server shutting down");
}

net::awaitable<void> websocket_session::expire_at(std::chrono::sys_seconds deadline) {
    // Wall-clock time, as `exp` is; re-checked after each wait, so a clock that jumps is followed.
    // In milliseconds: a deadline in the year 9999 does not fit the clock's nanoseconds.
    using std::chrono::milliseconds;
    constexpr milliseconds longest_wait = std::chrono::hours{1};
    for (;;) {
        const auto now = std::chrono::time_point_cast<milliseconds>(std::chrono::system_clock::now());
        const auto left = std::chrono::time_point_cast<milliseconds>(deadline) - now;
        if (left <= milliseconds::zero()) {
            break;
        }
        expiry_.expires_after(std::min(left, longest_wait));
        const auto [ec] = co_await expiry_.async_wait(net::as_tuple(net::use_awaitable));
        if (ec || torn_down_) {
            co_return;  // the session ended first (a wait that completed just before it is not cancelled)
        }
    }
    if (outbox_->end_with(protocol::disconnect_frame(protocol::close_token_expired, "token expired"))) {
        note_reason("token expired (4001)");
        spdlog::info("session {}: the token of {:?} expired; disconnecting", id_, who_.principal);
        give_close_a_deadline("the client did not take its disconnect in time");
    }
}

net::awaitable<void> websocket_session::close_with(std::uint16_t code, std::string_view reason) {
    note_reason(std::string{reason} + " (" + std::to_string(code) + ")");
    const websocket::close_reason why{static_cast<websocket::close_code>(code), reason};
    const auto ec = co_await transport_->close(why);
    if (ec) {
        cut("close failed");
    }
}

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
    reply(protocol::catalog_frame(request.id, state_->submitter.registry()));
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

void websocket_session::note_read_end(const boost::system::error_code& ec) {
    if (ec == websocket::error::closed) {
        note_reason(describe_close(transport_->peer_reason()));
    } else if (ec == websocket::error::message_too_big) {
        note_reason("frame over " + std::to_string(state_->options.limits.max_frame_bytes) + " bytes (1009)");
    } else if (ec == websocket::error::bad_frame_payload) {
        note_reason("invalid UTF-8 in a text frame (1007)");
    } else if (ec == beast::error::timeout) {
        note_reason("timed out");
    } else {
        note_reason(ec.message());
    }
}

void websocket_session::note_reason(std::string reason) {
    // The first reason is the cause; what follows is usually its consequence.
    if (close_reason_.empty()) {
        close_reason_ = std::move(reason);
    }
}

void websocket_session::on_overflow() {
    gateway_metrics::add(state_->metrics.slow_consumers);
    note_reason("slow consumer (4008)");
    spdlog::warn("session {}: slow consumer, outgoing queue past its bound; disconnecting", id_);
    give_close_a_deadline("slow consumer did not take its disconnect in time");
}

void websocket_session::give_close_a_deadline(std::string_view why) {
    grace_.expires_after(state_->options.limits.close_grace);
    grace_.async_wait([weak = weak_from_this(), why = std::string{why}](const boost::system::error_code& ec) {
        if (auto self = weak.lock(); self && !ec) {
            self->cut(why);
        }
    });
}

void websocket_session::cut(std::string_view why) {
    if (transport_->is_open()) {
        spdlog::debug("session {}: cutting the connection: {}", id_, why);
    }
    transport_->cut();
}

void websocket_session::tear_down() {
    torn_down_ = true;
    grace_.cancel();
    expiry_.cancel();
    // Any flush still pending (a peer that stopped reading) fails now instead of holding the socket.
    transport_->cut();
    state_->submitter.feed().remove_all(*outbox_);
    outbox_->close();
    if (opened_) {
        gateway_metrics::add(state_->metrics.connections_closed);
        spdlog::info("session {} closed: {}", id_,
                     close_reason_.empty() ? std::string{"connection ended"} : close_reason_);
    }
}

void websocket_session::begin_drain() {
    net::post(executor_, [weak = weak_from_this()] {
        if (auto self = weak.lock()) {
            self->draining_ = true;
            self->outbox_->kick();
        }
    });
}

void websocket_session::abort() {
    net::post(executor_, [weak = weak_from_this()] {
        if (auto self = weak.lock()) {
            self->note_reason("server stopped");
            self->cut("server stopped");
        }
    });
}

void websocket_session::detach() noexcept {
    outbox_->attach(nullptr);
    outbox_->close();
}

void websocket_session::wake() noexcept {
    (void)bell_.try_send(boost::system::error_code{});
}

void websocket_session::overflowed() noexcept {
    net::post(executor_, [weak = weak_from_this()] {
        if (auto self = weak.lock()) {
            self->on_overflow();
        }
    });
}

}  // namespace gateway
