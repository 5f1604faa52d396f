#include "cluster/delivery_feed.hpp"

#include "cluster/nats_error.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>

#include <vector>

namespace cluster {

namespace asio = boost::asio;

delivery_feed::delivery_feed(nats_client& client, consumer_spec spec, const feed_settings& settings,
                             const asio::any_io_executor& executor, delivery_handler handler)
    : settings_{settings},
      consumer_{client, std::move(spec), settings.consumer},
      strand_{asio::make_strand(executor)},
      handler_{std::move(handler)},
      fetcher_{[this](const std::stop_token& stop) { run(stop); }} {}

delivery_feed::~delivery_feed() {
    stop();
}

void delivery_feed::stop() noexcept {
    if (!fetcher_.joinable()) {
        return;
    }
    fetcher_.request_stop();
    fetcher_.join();
    std::unique_lock lock{mutex_};
    room_.wait(lock, [this] { return in_handlers_ == 0; });
}

void delivery_feed::run(const std::stop_token& stop) {
    while (!stop.stop_requested()) {
        std::size_t room = 0;
        {
            std::unique_lock lock{mutex_};
            if (!room_.wait(lock, stop, [this] { return in_handlers_ < settings_.window; })) {
                return;
            }
            room = settings_.window - in_handlers_;
        }
        std::vector<delivery> fetched;
        try {
            fetched = consumer_.fetch(static_cast<int>(room), settings_.fetch_wait);
        } catch (const nats_error&) {
            // nats-server is away (libnats reconnects by itself) or refused: try again shortly.
            std::this_thread::sleep_for(settings_.fetch_wait);
            continue;
        }
        for (auto& message : fetched) {
            // Posted to the strand, and the coroutine made there: the executor the coroutine
            // keeps is then copied and released on the executor's threads only.
            asio::post(strand_, [this, message = std::make_shared<delivery>(std::move(message)),
                                 slot = handler_slot{*this}]() mutable {
                asio::co_spawn(strand_, handle(std::move(message), std::move(slot)), asio::detached);
            });
        }
    }
}

delivery_feed::handler_slot::handler_slot(delivery_feed& feed) noexcept : feed_{&feed} {
    const std::scoped_lock lock{feed_->mutex_};
    ++feed_->in_handlers_;
}

delivery_feed::handler_slot::~handler_slot() {
    if (feed_ == nullptr) {
        return;
    }
    // Notified under the lock: stop() may return, and the feed be destroyed, as soon as it is free.
    const std::scoped_lock lock{feed_->mutex_};
    --feed_->in_handlers_;
    feed_->room_.notify_all();
}

asio::awaitable<void> delivery_feed::handle(std::shared_ptr<delivery> message, handler_slot /*slot*/) {
    bool handled = false;
    try {
        co_await handler_(*message);
        handled = true;
    } catch (...) {
        // Asked for again below; should that fail too, nats-server redelivers after the ack wait.
    }
    try {
        if (handled) {
            message->ack();
            acknowledged_.fetch_add(1, std::memory_order_relaxed);
        } else {
            message->nak(settings_.retry_delay);
        }
    } catch (const nats_error&) {
        // Did not leave: the message comes again after the ack wait, and is de-duplicated then.
    }
}

}  // namespace cluster
