#include "thread_cpu.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <latch>
#include <memory>
#include <pthread.h>
#include <stdexcept>
#include <string>
#include <unistd.h>

namespace cascade::bench {

namespace {

/// The scheduler's runtime of a thread of this process, in seconds; 0 once it has gone.
[[nodiscard]] double schedstat_seconds(pid_t tid) {
    std::ifstream in{"/proc/self/task/" + std::to_string(tid) + "/schedstat"};
    unsigned long long nanoseconds = 0;
    return in >> nanoseconds ? static_cast<double>(nanoseconds) / 1e9 : 0.0;
}

}  // namespace

void thread_cpu_clocks::add_current_thread() {
    clockid_t clock{};
    if (pthread_getcpuclockid(pthread_self(), &clock) != 0) {
        throw std::runtime_error{"no CPU clock for this thread"};
    }
    {
        const std::scoped_lock lock{mutex_};
        clocks_.push_back(clock);
        recorded_ids_.insert(gettid());
    }
    recorded_.notify_all();
}

void thread_cpu_clocks::add_others(const std::set<pid_t>& started) {
    const std::scoped_lock lock{mutex_};
    for (const auto tid : started) {
        if (!recorded_ids_.contains(tid) && std::find(others_.begin(), others_.end(), tid) == others_.end()) {
            others_.push_back(tid);
        }
    }
}

bool thread_cpu_clocks::wait_for(std::size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock{mutex_};
    return recorded_.wait_for(lock, timeout, [&] { return clocks_.size() + others_.size() >= count; });
}

double thread_cpu_clocks::seconds() const {
    const std::scoped_lock lock{mutex_};
    double total = 0;
    for (const auto clock : clocks_) {
        timespec t{};
        if (clock_gettime(clock, &t) == 0) {
            total += static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
        }
    }
    for (const auto tid : others_) {
        total += schedstat_seconds(tid);
    }
    return total;
}

std::size_t thread_cpu_clocks::size() const {
    const std::scoped_lock lock{mutex_};
    return clocks_.size() + others_.size();
}

std::set<pid_t> process_thread_ids() {
    std::set<pid_t> ids;
    for (const auto& entry : std::filesystem::directory_iterator{"/proc/self/task"}) {
        ids.insert(static_cast<pid_t>(std::stol(entry.path().filename().string())));
    }
    return ids;
}

std::set<pid_t> started_between(const std::set<pid_t>& before, const std::set<pid_t>& after) {
    std::set<pid_t> started;
    std::set_difference(after.begin(), after.end(), before.begin(), before.end(),
                        std::inserter(started, started.end()));
    return started;
}

void record_threads(gateway::io_pool& pool, thread_cpu_clocks& clocks) {
    for (std::size_t i = 0; i < pool.size(); ++i) {
        boost::asio::post(pool.next(), [&clocks] { clocks.add_current_thread(); });
    }
}

void record_threads(const boost::asio::any_io_executor& executor, std::size_t threads, thread_cpu_clocks& clocks) {
    const auto before = clocks.size();
    // Shared: the last task may still be inside arrive_and_wait when this function returns.
    auto all_there = std::make_shared<std::latch>(static_cast<std::ptrdiff_t>(threads));
    for (std::size_t i = 0; i < threads; ++i) {
        boost::asio::post(executor, [&clocks, all_there] {
            clocks.add_current_thread();
            all_there->arrive_and_wait();
        });
    }
    if (!clocks.wait_for(before + threads, std::chrono::seconds{10})) {
        throw std::runtime_error{"the bus's threads did not all take a recording task"};
    }
}

}  // namespace cascade::bench
