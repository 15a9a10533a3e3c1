#pragma once
// Lets through at most `per_second` log lines a second and counts what it held back, so a
// flood of identical events (rejected connections, bad frames) cannot flood the log. What it
// held back is reported twice over: the next line let through carries the count, and once a
// burst is over (no event for a whole interval) take_ended_burst() hands the count to whoever
// summarises it, so the tail of a burst is never left unsaid until the next event.
// Any thread (relaxed atomics; used on error paths only).
#include <atomic>
#include <chrono>
#include <cstdint>

namespace switchyard {

class LogRateLimiter {
public:
    explicit LogRateLimiter(std::uint32_t per_second = 10) : per_second_(per_second) {}

    // Returns true when this event may be logged; *suppressed receives how many events were
    // held back since the last line that was let through (or the last summary).
    bool allow(std::uint64_t* suppressed) {
        const std::int64_t now = now_ns();
        std::int64_t next = next_ns_.load(std::memory_order_relaxed);
        if (now >= next && next_ns_.compare_exchange_strong(next, now + interval_ns(), std::memory_order_relaxed)) {
            *suppressed = held_.exchange(0, std::memory_order_relaxed);
            return true;
        }
        // First event of a held run: remember when it began, for the summary's "in the last ...".
        if (held_.fetch_add(1, std::memory_order_relaxed) == 0) first_held_ns_.store(now, std::memory_order_relaxed);
        last_held_ns_.store(now, std::memory_order_relaxed);
        return false;
    }

    // Returns the events held back since the last line let through, and forgets them, once
    // the burst they belong to is over: none for a whole interval (1/per_second). Returns 0
    // while events keep coming (the next line let through will carry the count) or when none
    // was held. *held_for_ns receives how long ago the first of them happened.
    std::uint64_t take_ended_burst(std::int64_t* held_for_ns) {
        if (held_.load(std::memory_order_relaxed) == 0) return 0;
        const std::int64_t now = now_ns();
        if (now - last_held_ns_.load(std::memory_order_relaxed) < interval_ns()) return 0;
        *held_for_ns = now - first_held_ns_.load(std::memory_order_relaxed);
        return held_.exchange(0, std::memory_order_relaxed);
    }

private:
    static std::int64_t now_ns() {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
            .count();
    }
    std::int64_t interval_ns() const { return 1000000000LL / per_second_; }

    std::uint32_t per_second_;
    std::atomic<std::int64_t> next_ns_{0};
    std::atomic<std::uint64_t> held_{0};
    std::atomic<std::int64_t> first_held_ns_{0};
    std::atomic<std::int64_t> last_held_ns_{0};
};

}  // namespace switchyard
