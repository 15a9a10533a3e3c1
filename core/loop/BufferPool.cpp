#include "core/loop/BufferPool.hpp"

namespace switchyard {

BufferPool::Block BufferPool::acquire(std::size_t size) {
    ++borrowed_;
    borrowed_bytes_ += size;
    for (auto& c : classes_) {
        if (c.size == size && !c.free.empty()) {
            Block b{std::move(c.free.back()), size};
            c.free.pop_back();
            retained_ -= size;
            publish();
            return b;
        }
    }
    publish();
    // for_overwrite: the bytes are written by recv() before anyone reads them.
    return Block{std::make_unique_for_overwrite<std::uint8_t[]>(size), size};
}

void BufferPool::release(Block&& block) {
    if (!block) return;
    --borrowed_;
    borrowed_bytes_ -= block.size;
    keep_or_free(std::move(block));
    publish();
}

void BufferPool::keep_or_free(Block&& block) {
    if (retained_ + block.size > retain_bytes_) {
        block.data.reset();
        return;
    }
    for (auto& c : classes_) {
        if (c.size == block.size) {
            c.free.push_back(std::move(block.data));
            retained_ += block.size;
            return;
        }
    }
    if (classes_.size() >= 8) {  // odd sizes (grown frame buffers) are not worth keeping
        block.data.reset();
        return;
    }
    classes_.push_back(SizeClass{block.size, {}});
    classes_.back().free.push_back(std::move(block.data));
    retained_ += block.size;
}

}  // namespace switchyard
