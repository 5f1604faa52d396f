#include "gateway/io_pool.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>
#include <exception>

namespace gateway {
namespace {

/// Runs the context until it stops or runs out of work; a handler that throws is logged, not fatal.
void run_logging_failures(boost::asio::io_context& io) {
    for (;;) {
        try {
            io.run();
            return;
        } catch (const std::exception& e) {
            spdlog::error("I/O thread: {}", e.what());  // a handler threw; keep serving
        }
    }
}

}  // namespace

io_pool::io_pool(std::size_t threads) {
    const auto count = std::max<std::size_t>(1, threads);
    contexts_.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        contexts_.push_back(std::make_unique<boost::asio::io_context>(1));  // one thread runs it
    }
}

io_pool::~io_pool() {
    stop();
}

io_pool::executor_type io_pool::next() noexcept {
    auto& context = *contexts_[next_];
    next_ = (next_ + 1) % contexts_.size();
    return context.get_executor();
}

void io_pool::start() {
    assert(threads_.empty() && "io_pool::start runs once");
    try {
        for (const auto& context : contexts_) {
            guards_.emplace_back(context->get_executor());
            threads_.emplace_back([&io = *context] { run_logging_failures(io); });
        }
    } catch (...) {
        stop();  // no thread may outlive what its handlers refer to while the caller unwinds
        throw;
    }
}

void io_pool::join_when_idle() {
    guards_.clear();
    for (auto& thread : threads_) {
        thread.join();
    }
    threads_.clear();
}

void io_pool::stop() {
    guards_.clear();
    for (const auto& context : contexts_) {
        context->stop();
    }
    for (auto& thread : threads_) {
        thread.join();
    }
    threads_.clear();
}

}  // namespace gateway
