#include "progress.hpp"

#include "report.hpp"

#include <chrono>
#include <cstdio>
#include <unistd.h>

namespace cascade::bench {

namespace {

using clock = std::chrono::steady_clock;

/// Often enough to look alive, rarely enough to cost the run nothing.
constexpr auto update_every = std::chrono::milliseconds{250};

}  // namespace

progress_line::progress_line(std::string label, std::string unit, std::function<std::uint64_t()> count)
    : label_{std::move(label)}, unit_{std::move(unit)}, count_{std::move(count)} {
    if (::isatty(::fileno(stderr)) != 0) {
        thread_ = std::jthread{[this](const std::stop_token& stop) { run(stop); }};
    }
}

progress_line::~progress_line() {
    if (thread_.joinable()) {
        thread_.request_stop();
        thread_.join();
        std::fputs("\r\033[K", stderr);  // erase the line
        std::fflush(stderr);
    }
}

void progress_line::run(const std::stop_token& stop) {
    const auto started = clock::now();
    auto last_time = started;
    auto last_count = count_();
    std::unique_lock lock{mutex_};
    for (;;) {
        // Wakes early only when stopped: the predicate never holds.
        (void)wake_.wait_for(lock, stop, update_every, [] { return false; });
        if (stop.stop_requested()) {
            return;
        }
        const auto now = clock::now();
        const auto count = count_();
        const double elapsed = std::chrono::duration<double>(now - started).count();
        const double rate =
            static_cast<double>(count - last_count) / std::chrono::duration<double>(now - last_time).count();
        std::fprintf(stderr, "\r%s: %.1f s, %s %s\033[K", label_.c_str(), elapsed, format_rate(rate).c_str(),
                     unit_.c_str());
        std::fflush(stderr);
        last_time = now;
        last_count = count;
    }
}

}  // namespace cascade::bench
