#pragma once
// A stream layer under the WebSocket stream that turns many small frame writes into few send()
// calls. A write is copied into a buffer and completes at once; the buffer is flushed by a posted
// handler, one async_write at a time, and frames written meanwhile gather behind it. So a lone
// frame leaves after one turn of the event loop and, under load, many share one system call.
// cork() holds a batch back until uncork(); flush_when_reading() holds writes until the next
// read from the socket. Backpressure is kept: past `write_limit` bytes, writes wait for the
// socket, corked or not.
//
// All operations must run on the next layer's executor, one at a time (one thread, or a strand).
// Whoever drops the stream while a flush may be pending must close the socket first (the session
// does, at its end).

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace gateway {

template <class NextLayer>
class coalescing_stream {
public:
    using next_layer_type = NextLayer;
    using executor_type = typename NextLayer::executor_type;

    template <class Arg>
    explicit coalescing_stream(Arg&& next) : state_{std::make_shared<state>(std::forward<Arg>(next))} {}

    [[nodiscard]] next_layer_type& next_layer() noexcept { return state_->next; }
    [[nodiscard]] const next_layer_type& next_layer() const noexcept { return state_->next; }
    [[nodiscard]] executor_type get_executor() noexcept { return state_->next.get_executor(); }

    /// Bytes buffered beyond which writes wait for the socket.
    void write_limit(std::size_t bytes) noexcept { state_->limit = bytes; }

    /// Holds writes in the buffer until uncork(), so that a batch of frames leaves in one send().
    void cork() noexcept { state_->corked = true; }
    void uncork() {
        state_->corked = false;
        state_->schedule_flush();
    }

    /// For a peer that answers what it reads (a load client): writes wait in the buffer until the
    /// stream next reads from the socket, so the answers to everything already received leave in
    /// one send(). Only for a stream that always reads again after writing.
    void flush_when_reading() noexcept { state_->flush_on_read = true; }

    template <class MutableBufferSequence, class ReadToken>
    auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
        // Beast reads from the socket only once it has used up what it buffered.
        if (state_->flush_on_read) {
            state_->flush();
        }
        return state_->next.async_read_some(buffers, std::forward<ReadToken>(token));
    }

    template <class ConstBufferSequence, class WriteToken>
    auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
        return boost::asio::async_initiate<WriteToken, void(boost::beast::error_code, std::size_t)>(
            [](auto handler, const std::shared_ptr<state>& s, const ConstBufferSequence& b) {
                s->write(std::move(handler), b);
            },
            token, state_, buffers);
    }

    /// Completes once every byte accepted so far was handed to the next layer, or it failed.
    template <class Token>
    auto async_flush(Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::beast::error_code)>(
            [](auto handler, const std::shared_ptr<state>& s) { s->wait_flushed(std::move(handler)); }, token, state_);
    }

    /// Tears the next layer down once what is buffered (the close frame) has been sent.
    template <class TeardownHandler>
    void async_teardown_after_flush(boost::beast::role_type role, TeardownHandler&& handler) {
        async_flush([s = state_, role, handler = std::forward<TeardownHandler>(handler)](error_code) mutable {
            using boost::beast::websocket::async_teardown;
            async_teardown(role, s->next, std::move(handler));
        });
    }

private:
    using error_code = boost::beast::error_code;
    using write_handler = boost::asio::any_completion_handler<void(error_code, std::size_t)>;
    using flush_handler = boost::asio::any_completion_handler<void(error_code)>;

    // Shared with the flush in progress, so that a pending async_write never outlives its buffer.
    struct state : std::enable_shared_from_this<state> {
        template <class Arg>
        explicit state(Arg&& arg) : next{std::forward<Arg>(arg)} {}

        template <class Handler, class Buffers>
        void write(Handler handler, const Buffers& buffers) {
            const auto n = boost::asio::buffer_size(buffers);
            if (failed) {
                complete(std::move(handler), failed, 0);
                return;
            }
            const auto old = pending.size();
            pending.resize(old + n);
            boost::asio::buffer_copy(boost::asio::buffer(pending.data() + old, n), buffers);
            if (pending.size() <= limit) {
                complete(std::move(handler), error_code{}, n);
                schedule_flush();
            } else {
                parked.push_back({write_handler{std::move(handler)}, n});
                flush();  // corked or not: the writer waits for the socket now
            }
        }

        template <class Handler>
        void wait_flushed(Handler handler) {
            if (!flushing && pending.empty()) {
                complete(std::move(handler), failed);
            } else {
                flush_waiters.emplace_back(std::move(handler));
                flush();  // corked or waiting for a read: someone needs the bytes out now
            }
        }

        // The flush runs after whatever is queued on the executor now, so the frames written in
        // this turn of the event loop (acks, events, done frames of many submits) share a send().
        void schedule_flush() {
            if (flush_scheduled || flushing || corked || flush_on_read) {
                return;
            }
            flush_scheduled = true;
            boost::asio::post(next.get_executor(), [self = this->shared_from_this()] {
                self->flush_scheduled = false;
                if (!self->corked) {  // corked meanwhile: the batch's uncork flushes it all
                    self->flush();
                }
            });
        }

        void flush() {
            if (flushing || pending.empty()) {
                return;
            }
            flushing = true;
            std::swap(pending, sending);
            boost::asio::async_write(
                next, boost::asio::buffer(sending),
                [self = this->shared_from_this()](error_code ec, std::size_t) { self->flushed(ec); });
        }

        void flushed(error_code ec) {
            flushing = false;
            sending.clear();
            if (ec) {
                failed = ec;
                pending.clear();
            } else if (!corked || !parked.empty() || !flush_waiters.empty()) {
                flush();  // whatever gathered while this flush was on the wire
            }
            if (failed || pending.size() <= limit) {
                for (auto& p : std::exchange(parked, {})) {
                    complete(std::move(p.handler), failed, failed ? 0 : p.size);
                }
            }
            if (!flushing) {
                for (auto& h : std::exchange(flush_waiters, {})) {
                    complete(std::move(h), failed);
                }
            }
        }

        // Completion handlers are never invoked from inside an initiating function: post them.
        template <class Handler, class... Args>
        void complete(Handler&& handler, Args... args) {
            boost::asio::post(next.get_executor(),
                              boost::beast::bind_front_handler(std::forward<Handler>(handler), args...));
        }

        struct parked_write {
            write_handler handler;
            std::size_t size;
        };

        NextLayer next;
        std::string pending;  ///< accepted, not yet handed to the socket
        std::string sending;  ///< on the wire now
        std::size_t limit = 256 * 1024;
        bool flushing = false;
        bool flush_scheduled = false;
        bool corked = false;
        bool flush_on_read = false;
        error_code failed;
        std::vector<parked_write> parked;
        std::vector<flush_handler> flush_waiters;
    };

    std::shared_ptr<state> state_;
};

/// WebSocket teardown through the layer: send what is buffered (the close frame), then tear down
/// the next layer. Found by argument-dependent lookup from Beast's websocket stream.
template <class NextLayer, class TeardownHandler>
void async_teardown(boost::beast::role_type role, coalescing_stream<NextLayer>& stream, TeardownHandler&& handler) {
    stream.async_teardown_after_flush(role, std::forward<TeardownHandler>(handler));
}

template <class NextLayer>
void teardown(boost::beast::role_type role, coalescing_stream<NextLayer>& stream, boost::beast::error_code& ec) {
    using boost::beast::websocket::teardown;
    teardown(role, stream.next_layer(), ec);
}

}  // namespace gateway
