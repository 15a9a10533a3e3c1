#pragma once
// Lets through at most `per_second` log lines a second and counts what it held back, so a
// flood of identical events (rejected connections, bad frames) cannot flood the log.
// Any thread (one relaxed atomic; used on error paths only).
#include <atomic>
#include <chrono>
#include <cstdint>

namespace switchyard {

class LogRateLimiter {
public:
    explicit LogRateLimiter(std::uint32_t per_second = 10) : per_second_(per_second) {}

    // Returns true when this event may be logged; *suppressed receives how many events were
    // held back since the last line that was let through.
    bool allow(std::uint64_t* suppressed) {
        auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::steady_clock::now().time_since_epoch())
                       .count();
        std::int64_t interval = 1000000000LL / per_second_;
        std::int64_t next = next_ns_.load(std::memory_order_relaxed);
        if (now >= next && next_ns_.compare_exchange_strong(next, now + interval, std::memory_order_relaxed)) {
            *suppressed = held_.exchange(0, std::memory_order_relaxed);
            return true;
        }
        held_.fetch_add(1, std::memory_order_relaxed);
        return false;
    }

private:
    std::uint32_t per_second_;
    std::atomic<std::int64_t> next_ns_{0};
    std::atomic<std::uint64_t> held_{0};
};

}  // namespace switchyard
