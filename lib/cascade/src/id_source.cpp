#include "id_source.hpp"

namespace cascade::detail {

namespace {
std::atomic<std::uint64_t> generations{0};
}  // namespace

id_source::id_source() noexcept : generation_{generations.fetch_add(1, std::memory_order_relaxed) + 1} {}

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
