#pragma once
// CPU time of a known set of threads (a server's, not its load client's). Threads that run an
// executor the bench can reach are recorded from inside themselves, by a posted task, and read
// through their CPU clocks; threads a library starts where no executor reaches them (the SQLite
// journal's writer) are found as the threads the process gained while the server was built, and
// read from /proc/self/task/TID/schedstat (the same scheduler runtime, in nanoseconds).

#include "gateway/io_pool.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <ctime>
#include <mutex>
#include <set>
#include <sys/types.h>
#include <vector>

namespace cascade::bench {

class thread_cpu_clocks {
public:
    /// Records the calling thread's CPU clock. Safe from any thread.
    void add_current_thread();
    /// Records every thread of `started` not recorded yet, read through /proc: those a library
    /// started on its own.
    void add_others(const std::set<pid_t>& started);
    /// Blocks until `count` threads are recorded or `timeout` passes; true when they are.
    [[nodiscard]] bool wait_for(std::size_t count, std::chrono::milliseconds timeout);
    /// CPU time, user and system, of the recorded threads so far. Valid while they all run.
    [[nodiscard]] double seconds() const;
    [[nodiscard]] std::size_t size() const;

private:
    mutable std::mutex mutex_;
    std::condition_variable recorded_;
    std::vector<clockid_t> clocks_;
    std::set<pid_t> recorded_ids_;  ///< of the threads read through their clocks
    std::vector<pid_t> others_;     ///< read through /proc
};

/// The ids of this process's threads now (/proc/self/task).
[[nodiscard]] std::set<pid_t> process_thread_ids();

/// The threads in `after` and not in `before`.
[[nodiscard]] std::set<pid_t> started_between(const std::set<pid_t>& before, const std::set<pid_t>& after);

/// Posts one recording task to each context of `pool`, which runs it once the pool has started.
/// Call it before any connection is accepted: it advances the pool's round robin by one lap.
void record_threads(gateway::io_pool& pool, thread_cpu_clocks& clocks);

/// Records the `threads` threads of a thread pool behind `executor`: each task waits for the
/// others, so that each lands on a thread of its own. Blocks until done, and needs the pool idle.
void record_threads(const boost::asio::any_io_executor& executor, std::size_t threads, thread_cpu_clocks& clocks);

}  // namespace cascade::bench
