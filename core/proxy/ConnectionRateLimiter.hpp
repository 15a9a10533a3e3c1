#pragma once
// A listener's connection rate limit: a token bucket of `burst` tokens refilled at
// `per_second`, one token per accepted connection (per new session on a udp listener). Kept
// as one "theoretical arrival time" (the generic cell rate algorithm, which behaves exactly as
// that bucket) in one atomic, so loops accepting on their own SO_REUSEPORT sockets share it
// without a lock: one compare-and-swap per accepted connection, on the accept path only.
// Any thread. The parameters come with each call, so a reload that changes them keeps the
// bucket's state (what was spent stays spent).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>

namespace switchyard {

class ConnectionRateLimiter {
public:
    // True (and a token taken) when a connection may be accepted at `now_ns` (steady clock).
    bool try_acquire(std::uint32_t per_second, std::uint32_t burst, std::int64_t now_ns) {
        if (per_second == 0) return true;
        const std::int64_t interval = std::max<std::int64_t>(1'000'000'000 / per_second, 1);
        // A full bucket lets `burst` connections through at once: the arrival time may run
        // that many intervals (less the one being spent) ahead of now.
        const std::int64_t tolerance = interval * (std::max<std::uint32_t>(burst, 1) - 1);
        std::int64_t tat = tat_ns_.load(std::memory_order_relaxed);
        for (;;) {
            const std::int64_t base = std::max(tat, now_ns);
            if (base - now_ns > tolerance) return false;
            if (tat_ns_.compare_exchange_weak(tat, base + interval, std::memory_order_relaxed)) return true;
        }
    }

    // The same, now.
    bool try_acquire(std::uint32_t per_second, std::uint32_t burst) {
        return try_acquire(per_second, burst,
                           std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count());
    }

private:
    std::atomic<std::int64_t> tat_ns_{std::numeric_limits<std::int64_t>::min() / 2};
};

}  // namespace switchyard
