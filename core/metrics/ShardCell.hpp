#pragma once
// One loop's slot of a sharded metric. The loop that owns the shard is its only writer, so an
// update is a relaxed load plus a relaxed store (a plain `mov`, no `lock` prefix); the scrape
// thread reads with relaxed loads and sums the shards. Each slot fills a cache line of its own so
// two loops updating the same metric never false-share.
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace switchyard::metrics {

inline constexpr std::size_t cache_line_bytes = 64;

template <class T>
struct alignas(cache_line_bytes) ShardCell {
    static_assert(std::atomic<T>::is_always_lock_free);
    std::atomic<T> value{};
};

// Adds to a cell that only the calling thread writes. Owning loop thread only.
template <class T>
inline void single_writer_add(std::atomic<T>& cell, T delta) {
    cell.store(cell.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
}

}  // namespace switchyard::metrics
