#pragma once
// I/O threads that each run their own io_context. A connection is placed on one context and stays
// there, so its handlers never run at once and need no strand: Asio's implicit strand. One shared
// io_context with a strand per connection would pay a lock and a type-erased executor copy on
// every completion, which the gateway's small frames make the dominant cost.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

namespace gateway {

class io_pool {
public:
    using executor_type = boost::asio::io_context::executor_type;

    /// `threads` contexts (at least one), not running yet.
    explicit io_pool(std::size_t threads);
    /// stop()
    ~io_pool();

    io_pool(const io_pool&) = delete;
    io_pool& operator=(const io_pool&) = delete;

    [[nodiscard]] std::size_t size() const noexcept { return contexts_.size(); }
    /// The executor of the next context, round robin: where a new connection goes. Called from
    /// one thread at a time (the accept loop).
    [[nodiscard]] executor_type next() noexcept;
    /// The first context's executor, for work that belongs to no connection (an acceptor).
    [[nodiscard]] executor_type first() noexcept { return contexts_.front()->get_executor(); }

    /// One thread per context, each running until stop() (or, after join_when_idle(), until its
    /// context runs out of work). A handler that throws is logged and its thread keeps running.
    /// Called once; when a thread cannot be started, the others are stopped and it throws.
    void start();
    /// Lets each context finish what it has, then joins the threads.
    void join_when_idle();
    /// Stops every context now and joins the threads. Idempotent.
    void stop();

private:
    using work_guard = boost::asio::executor_work_guard<executor_type>;

    std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
    std::vector<work_guard> guards_;
    std::vector<std::thread> threads_;
    std::size_t next_ = 0;
};

}  // namespace gateway
