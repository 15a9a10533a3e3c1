#pragma once
// Per-loop pool of relay buffers (gnet's pooled elastic buffers): an idle connection holds no
// data buffer; it borrows one when its socket turns readable and gives it back once drained.
// Loop thread only: each EventLoop owns one pool, so no locking.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace switchyard {

class BufferPool {
public:
    struct Block {
        std::unique_ptr<std::uint8_t[]> data;
        std::size_t size = 0;
        explicit operator bool() const { return data != nullptr; }
    };

    // retain_bytes: how much idle memory the pool may keep for reuse before freeing blocks.
    explicit BufferPool(std::size_t retain_bytes = 8 * 1024 * 1024) : retain_bytes_(retain_bytes) {}

    // Loop thread only. Returns a block of exactly `size` bytes (reused when one is free).
    Block acquire(std::size_t size);
    // Loop thread only. Keeps the block for reuse unless the pool already retains enough.
    void release(Block&& block);

    std::size_t retained_bytes() const { return retained_; }  // loop thread only
    std::size_t borrowed() const { return borrowed_; }        // loop thread only

    // Any thread (a scrape): bytes lent to connections and bytes kept for reuse, as last
    // published by the loop (a relaxed store by the single writer, no read-modify-write).
    std::size_t published_borrowed_bytes() const { return borrowed_bytes_pub_.load(std::memory_order_relaxed); }
    std::size_t published_retained_bytes() const { return retained_pub_.load(std::memory_order_relaxed); }

private:
    void keep_or_free(Block&& block);
    struct SizeClass {
        std::size_t size;
        std::vector<std::unique_ptr<std::uint8_t[]>> free;
    };
    std::vector<SizeClass> classes_;  // few distinct sizes (one per listener buffer_size)
    std::size_t retain_bytes_;
    std::size_t retained_ = 0;
    std::size_t borrowed_ = 0;
    std::size_t borrowed_bytes_ = 0;
    std::atomic<std::size_t> borrowed_bytes_pub_{0};
    std::atomic<std::size_t> retained_pub_{0};
    void publish() {
        borrowed_bytes_pub_.store(borrowed_bytes_, std::memory_order_relaxed);
        retained_pub_.store(retained_, std::memory_order_relaxed);
    }
};

}  // namespace switchyard
