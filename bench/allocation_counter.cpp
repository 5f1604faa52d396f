// The counting allocator of cascade-bench: every form of the global operator new and delete is
// replaced here, each calling through to malloc and free (jemalloc's when it is linked), and
// counting into a slot that belongs to the calling thread. Asio allocates its handlers and
// coroutine frames with std::aligned_alloc rather than operator new, so that is replaced too:
// without it a strand post would look free.
#include "allocation_counter.hpp"

#include <array>
#include <atomic>
#include <cstdlib>
#include <malloc.h>
#include <new>

namespace cascade::bench {
namespace {

/// One thread's counts, on a cache line of its own. Only its thread writes it (past the
/// overflow slot), so the relaxed increments never contend.
struct alignas(64) counter_slot {
    std::atomic<std::uint64_t> allocations{0};
    std::atomic<std::uint64_t> bytes_allocated{0};
    std::atomic<std::uint64_t> bytes_freed{0};
};

// A fixed array, claimed by index: registering a thread must not allocate (it happens inside
// the first operator new of that thread). Threads beyond it share the last slot, still exactly.
constexpr std::size_t slot_count = 512;
constinit std::array<counter_slot, slot_count> slots{};
constinit std::atomic<std::size_t> slots_claimed{0};
constinit std::atomic<int> byte_trackers{0};
constinit thread_local counter_slot* own_slot = nullptr;

[[nodiscard]] counter_slot& slot_of_this_thread() noexcept {
    if (own_slot == nullptr) {
        const auto index = slots_claimed.fetch_add(1, std::memory_order_relaxed);
        own_slot = &slots[index < slot_count ? index : slot_count - 1];
    }
    return *own_slot;
}

[[nodiscard]] bool tracking_bytes() noexcept {
    return byte_trackers.load(std::memory_order_relaxed) > 0;  // read-mostly: no line bouncing
}

void count_allocation(void* p) noexcept {
    auto& slot = slot_of_this_thread();
    slot.allocations.fetch_add(1, std::memory_order_relaxed);
    if (tracking_bytes()) {
        slot.bytes_allocated.fetch_add(malloc_usable_size(p), std::memory_order_relaxed);
    }
}

void count_free(void* p) noexcept {
    if (p != nullptr && tracking_bytes()) {
        slot_of_this_thread().bytes_freed.fetch_add(malloc_usable_size(p), std::memory_order_relaxed);
    }
}

[[nodiscard]] void* allocate_or_null(std::size_t size, std::size_t alignment) noexcept {
    void* p = nullptr;
    if (alignment <= __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
        p = std::malloc(size == 0 ? 1 : size);
    } else if (posix_memalign(&p, alignment, size == 0 ? 1 : size) != 0) {
        p = nullptr;
    }
    if (p != nullptr) {
        count_allocation(p);
    }
    return p;
}

/// operator new's contract: retry through the new-handler, or throw bad_alloc.
[[nodiscard]] void* allocate(std::size_t size, std::size_t alignment) {
    for (;;) {
        if (void* p = allocate_or_null(size, alignment)) {
            return p;
        }
        const auto handler = std::get_new_handler();
        if (handler == nullptr) {
            throw std::bad_alloc{};
        }
        handler();
    }
}

void release(void* p) noexcept {
    count_free(p);
    std::free(p);
}

[[nodiscard]] std::size_t alignment_of(std::align_val_t alignment) noexcept {
    return static_cast<std::size_t>(alignment);
}

}  // namespace

allocation_totals operator-(const allocation_totals& later, const allocation_totals& earlier) noexcept {
    return {.allocations = later.allocations - earlier.allocations,
            .bytes_allocated = later.bytes_allocated - earlier.bytes_allocated,
            .bytes_freed = later.bytes_freed - earlier.bytes_freed};
}

allocation_totals allocation_snapshot() noexcept {
    allocation_totals totals;
    for (const auto& slot : slots) {
        totals.allocations += slot.allocations.load(std::memory_order_relaxed);
        totals.bytes_allocated += slot.bytes_allocated.load(std::memory_order_relaxed);
        totals.bytes_freed += slot.bytes_freed.load(std::memory_order_relaxed);
    }
    return totals;
}

byte_tracking::byte_tracking() noexcept {
    byte_trackers.fetch_add(1, std::memory_order_relaxed);
}

byte_tracking::~byte_tracking() {
    byte_trackers.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace cascade::bench

using cascade::bench::alignment_of;
using cascade::bench::allocate;
using cascade::bench::allocate_or_null;
using cascade::bench::release;

// The replaceable global allocation functions ([new.delete]), every form.

void* operator new(std::size_t size) {
    return allocate(size, 0);
}
void* operator new[](std::size_t size) {
    return allocate(size, 0);
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    return allocate_or_null(size, 0);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
    return allocate_or_null(size, 0);
}
void* operator new(std::size_t size, std::align_val_t alignment) {
    return allocate(size, alignment_of(alignment));
}
void* operator new[](std::size_t size, std::align_val_t alignment) {
    return allocate(size, alignment_of(alignment));
}
void* operator new(std::size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
    return allocate_or_null(size, alignment_of(alignment));
}
void* operator new[](std::size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
    return allocate_or_null(size, alignment_of(alignment));
}

void operator delete(void* p) noexcept {
    release(p);
}
void operator delete[](void* p) noexcept {
    release(p);
}
void operator delete(void* p, std::size_t) noexcept {
    release(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    release(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
    release(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
    release(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
    release(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
    release(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
    release(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
    release(p);
}
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
    release(p);
}
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
    release(p);
}

// Asio's handler and coroutine-frame memory (boost/asio/detail/memory.hpp, aligned_new). The
// block goes back through free(), which is left alone: replacing free would put every C
// library's frees through this file.
extern "C" void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
    return allocate_or_null(size, alignment < sizeof(void*) ? sizeof(void*) : alignment);
}
