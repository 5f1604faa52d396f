#pragma once
// A durable consumer's messages into Asio (an owned partition's, an origin's reports). A thread of
// the feed's own blocks in libnats's fetch (libnats calls nothing back into Asio: the thread only
// posts), and hands each delivery, in stream order, to a coroutine started on a strand of the
// application's executor. A delivery is
// acknowledged once its handler returns, and left for redelivery when it throws: the handler's
// work is done before nats-server forgets the message, and asked for again (after `retry_delay`)
// when it throws. At most `window` deliveries are in handlers at once; their handlers start in
// stream order, one after another on the strand. With a window of 1 and the consumer's
// max_ack_pending at 1, nats-server delivers nothing else until a delivery is acknowledged, so a
// retried one keeps its place. The executor must run until the feed is stopped: a handler that
// never runs holds its place in the window.

#include "cluster/delivery.hpp"
#include "cluster/durable_consumer.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

namespace cluster {

/// Handles one delivery; throwing leaves it unacknowledged, for redelivery after the ack wait.
using delivery_handler = std::function<boost::asio::awaitable<void>(const delivery&)>;

struct feed_settings {
    consumer_settings consumer;
    std::size_t window = 256;                    ///< deliveries in handlers at once, at most
    std::chrono::milliseconds fetch_wait{100};   ///< how long one fetch waits (and stop() may wait for it)
    std::chrono::milliseconds retry_delay{500};  ///< before a delivery whose handler threw comes again
};

class delivery_feed {
public:
    /// Starts feeding at once.
    /// Creates or binds the consumer of `spec`; throws nats_error when it cannot.
    delivery_feed(nats_client& client, consumer_spec spec, const feed_settings& settings,
                  const boost::asio::any_io_executor& executor, delivery_handler handler);
    /// stop().
    ~delivery_feed();
    delivery_feed(const delivery_feed&) = delete;
    delivery_feed& operator=(const delivery_feed&) = delete;

    /// Fetches no more, without waiting: for stopping many feeds together before stop() on each.
    void request_stop() noexcept { fetcher_.request_stop(); }
    /// Fetches no more, and waits until the handlers already started have returned (their
    /// deliveries acknowledged or not). Idempotent. Must not run on the executor's threads while
    /// a handler needs them.
    void stop() noexcept;

    [[nodiscard]] const consumer_spec& spec() const noexcept { return consumer_.spec(); }
    /// Deliveries whose handler returned and whose ack was sent.
    [[nodiscard]] std::uint64_t acknowledged() const noexcept { return acknowledged_.load(std::memory_order_relaxed); }

private:
    /// A handler's place in the window, given back when its coroutine ends, or is destroyed
    /// without having run (the executor stopped first).
    class handler_slot {
    public:
        explicit handler_slot(delivery_feed& feed) noexcept;
        handler_slot(handler_slot&& other) noexcept : feed_{std::exchange(other.feed_, nullptr)} {}
        handler_slot(const handler_slot&) = delete;
        handler_slot& operator=(const handler_slot&) = delete;
        handler_slot& operator=(handler_slot&&) = delete;
        ~handler_slot();

    private:
        delivery_feed* feed_;
    };

    void run(const std::stop_token& stop);
    [[nodiscard]] boost::asio::awaitable<void> handle(std::shared_ptr<delivery> message, handler_slot slot);

    feed_settings settings_;
    durable_consumer consumer_;
    boost::asio::strand<boost::asio::any_io_executor> strand_;
    delivery_handler handler_;
    std::mutex mutex_;
    std::condition_variable_any room_;  ///< a handler returned
    std::size_t in_handlers_ = 0;
    std::atomic<std::uint64_t> acknowledged_{0};
    std::jthread fetcher_;  ///< last: it starts once everything above exists
};

}  // namespace cluster
