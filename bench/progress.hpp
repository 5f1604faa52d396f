#pragma once
// Progress of a long run on a terminal: one line on stderr, rewritten a few times a second with
// the time elapsed and the current rate. Silent when stderr is not a terminal, so that logs and
// pipes get the table only.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace cascade::bench {

class progress_line {
public:
    /// Shows "label: 2.3 s, 56.2 k/s unit" while it lives; `count` is read from another thread,
    /// so it must be safe to call concurrently with the run (an atomic load, say).
    progress_line(std::string label, std::string unit, std::function<std::uint64_t()> count);
    /// Stops updating and clears the line, so the table that follows starts clean.
    ~progress_line();
    progress_line(const progress_line&) = delete;
    progress_line& operator=(const progress_line&) = delete;

private:
    void run(const std::stop_token& stop);

    std::string label_;
    std::string unit_;
    std::function<std::uint64_t()> count_;
    std::mutex mutex_;
    std::condition_variable_any wake_;
    std::jthread thread_;  ///< last: it starts once the members it reads exist
};

}  // namespace cascade::bench
