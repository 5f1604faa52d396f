#include "id_source.hpp"

namespace cascade::detail {

namespace {
std::atomic<std::uint64_t> generations{0};
}  // namespace

id_source::id_source() noexcept : generation_{generations.fetch_add(1, std::memory_order_relaxed) + 1} {}

void id_source::skip_past(message_id last) noexcept {
    const message_id block = last / block_size + 1;
    if (next_block_.load(std::memory_order_relaxed) < block) {
        next_block_.store(block, std::memory_order_relaxed);
    }
}

message_id id_source::next() noexcept {
    thread_local struct {
        std::uint64_t owner = 0;
        message_id next = 0;
        message_id end = 0;
    } block;
    if (block.owner != generation_ || block.next == block.end) {
        block.owner = generation_;
        block.next = next_block_.fetch_add(1, std::memory_order_relaxed) * block_size + 1;
        block.end = block.next + block_size;
    }
    return block.next++;
}

}  // namespace cascade::detail
