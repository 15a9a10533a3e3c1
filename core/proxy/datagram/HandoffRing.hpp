#pragma once
// A single-producer, single-consumer ring of variable-length records in one fixed block of
// memory: how the loop that receives a listener's datagrams (reuse_port off) hands a datagram
// to the loop that owns its session, with no lock and no allocation per datagram. A full ring
// refuses the record (the caller drops and counts it) rather than wait.
// Thread rule: push() and try_claim_wake() on the producer loop's thread only; drain() and
// clear_wake() on the consumer loop's thread only.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace switchyard {

class HandoffRing {
public:
    // capacity: bytes, rounded up to a power of two (at least 4 KiB).
    explicit HandoffRing(std::size_t capacity);
    HandoffRing(const HandoffRing&) = delete;
    HandoffRing& operator=(const HandoffRing&) = delete;

    // Producer: appends one record made of `head` then `payload`; false when it does not fit.
    bool push(const void* head, std::size_t head_len, const void* payload, std::size_t payload_len);

    // Consumer: calls fn(const std::uint8_t* record, std::size_t length) for each record in
    // order, then frees them. Returns how many there were.
    template <class Fn>
    std::size_t drain(Fn&& fn) {
        std::uint64_t head = head_.load(std::memory_order_relaxed);
        const std::uint64_t tail = tail_.load(std::memory_order_acquire);
        std::size_t count = 0;
        while (head < tail) {
            const std::size_t at = static_cast<std::size_t>(head & mask_);
            std::uint32_t len;
            __builtin_memcpy(&len, data_.get() + at, sizeof len);
            if (len == kWrap) {
                head += capacity_ - at;
                continue;
            }
            fn(data_.get() + at + kHeader, static_cast<std::size_t>(len));
            head += record_size(len);
            ++count;
        }
        head_.store(head, std::memory_order_release);
        return count;
    }

    // Producer, after pushing: true when the consumer must be woken (no wake is pending).
    bool try_claim_wake() { return !wake_pending_.exchange(true, std::memory_order_acq_rel); }
    // Consumer, before draining: records pushed from now on ask for a new wake.
    void clear_wake() { wake_pending_.store(false, std::memory_order_release); }

    std::size_t capacity() const { return capacity_; }

private:
    static constexpr std::uint32_t kWrap = 0xffffffffu;
    static constexpr std::size_t kHeader = 8;  // length word, padded so records stay 8-aligned
    static std::size_t record_size(std::size_t len) { return (kHeader + len + 7) & ~std::size_t{7}; }

    std::size_t capacity_;
    std::size_t mask_;
    std::unique_ptr<std::uint8_t[]> data_;
    alignas(64) std::atomic<std::uint64_t> head_{0};  // consumer's position (bytes ever consumed)
    alignas(64) std::atomic<std::uint64_t> tail_{0};  // producer's position (bytes ever produced)
    alignas(64) std::atomic<bool> wake_pending_{false};
};

}  // namespace switchyard
