#include "bus_memory.hpp"

#include "allocation_counter.hpp"
#include "bus_workload.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <latch>
#include <vector>

namespace cascade::bench {

namespace asio = boost::asio;

namespace {

/// Holds the threads that reach it until opened. Blocking a pool thread is the point here: no
/// handler may run, and free what was queued, while the bytes are read.
class gate {
public:
    void pass() const noexcept { open_.wait(false); }
    void open() noexcept {
        open_ = true;
        open_.notify_all();
    }

private:
    std::atomic<bool> open_{false};
};

[[nodiscard]] queued_memory per_message(const allocation_totals& during, std::size_t queued) {
    return {
        .queued = queued,
        .bytes_per_message = queued == 0 ? 0 : static_cast<double>(during.net_bytes()) / static_cast<double>(queued)};
}

}  // namespace

queued_memory measure_bus_queued_memory(std::size_t threads, std::size_t aggregates, std::size_t max_queued) {
    gate held;
    bus bus{{.threads = threads, .max_queued = max_queued}};
    bus.subscribe<tick>("gated", [&held](const tick&, context&) -> asio::awaitable<void> {
        held.pass();
        co_return;
    });
    const auto keys = make_keys(aggregates);
    std::size_t queued = 0;
    allocation_totals during;
    {
        const byte_tracking bytes;
        const auto before = allocation_snapshot();
        while (bus.try_submit(any_message{tick{.key = keys[queued % keys.size()], .seq = queued}})) {
            ++queued;
        }
        during = allocation_snapshot() - before;
    }
    held.open();
    if (!bus.wait_idle(std::chrono::minutes{1})) {
        std::fprintf(stderr, "the gated bus did not go idle\n");
    }
    return per_message(during, queued);
}

queued_memory measure_strand_queued_memory(std::size_t threads, std::size_t aggregates, std::size_t count) {
    gate held;
    asio::thread_pool pool{threads};
    // Every thread is held before anything is posted, so no posted handler runs in the window.
    std::latch all_held{static_cast<std::ptrdiff_t>(threads)};
    for (std::size_t t = 0; t < threads; ++t) {
        asio::post(pool, [&] {
            all_held.count_down();
            held.pass();
        });
    }
    all_held.wait();
    using strand_type = asio::strand<asio::thread_pool::executor_type>;
    std::vector<strand_type> strands;
    strands.reserve(aggregates);  // outside the window: the bench's vector is not what is measured
    allocation_totals during;
    {
        const byte_tracking bytes;
        const auto before = allocation_snapshot();
        for (std::size_t i = 0; i < aggregates; ++i) {
            strands.push_back(asio::make_strand(pool.get_executor()));
        }
        for (std::size_t i = 0; i < count; ++i) {
            asio::post(strands[i % strands.size()], [] {});
        }
        during = allocation_snapshot() - before;
    }
    held.open();
    pool.join();
    return per_message(during, count);
}

}  // namespace cascade::bench
