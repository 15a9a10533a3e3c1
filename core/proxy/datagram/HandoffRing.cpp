#include "core/proxy/datagram/HandoffRing.hpp"

#include <bit>
#include <cstring>

namespace switchyard {

HandoffRing::HandoffRing(std::size_t capacity)
    : capacity_(std::bit_ceil(std::max<std::size_t>(capacity, 4096))),
      mask_(capacity_ - 1),
      data_(std::make_unique_for_overwrite<std::uint8_t[]>(capacity_)) {}

bool HandoffRing::push(const void* head, std::size_t head_len, const void* payload, std::size_t payload_len) {
    const std::size_t len = head_len + payload_len;
    const std::size_t need = record_size(len);
    std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    const std::uint64_t consumed = head_.load(std::memory_order_acquire);
    std::size_t at = static_cast<std::size_t>(tail & mask_);
    const std::size_t to_end = capacity_ - at;
    // A record never wraps: when it does not fit before the end, a marker skips the rest.
    const std::size_t skip = need > to_end ? to_end : 0;
    if (tail + skip + need - consumed > capacity_) return false;
    if (skip) {
        const std::uint32_t wrap = kWrap;
        std::memcpy(data_.get() + at, &wrap, sizeof wrap);
        tail += skip;
        at = 0;
    }
    const std::uint32_t len32 = static_cast<std::uint32_t>(len);
    std::memcpy(data_.get() + at, &len32, sizeof len32);
    std::memcpy(data_.get() + at + kHeader, head, head_len);
    if (payload_len) std::memcpy(data_.get() + at + kHeader + head_len, payload, payload_len);
    tail_.store(tail + need, std::memory_order_release);
    return true;
}

}  // namespace switchyard
