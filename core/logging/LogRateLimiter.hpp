#pragma once
// Lets through at most `lines` log lines per window (10 a second by default) and counts what
// it held back, so a flood of identical events (rejected connections, bad frames) cannot flood
// the log while a few events close together (both directions of one connection) all show.
// What it held back is reported twice over: the first line let through afterwards carries the
// count, and once the burst is over (no event for window/lines) take_ended_burst() hands the
// count to whoever summarises it, so the tail of a burst is never left unsaid until the next
// event. Any thread (relaxed atomics; used on error paths only).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>

namespace switchyard {

class LogRateLimiter {
public:
    explicit LogRateLimiter(std::uint32_t lines = 10, std::chrono::nanoseconds window = std::chrono::seconds(1))
        : lines_(lines), window_ns_(window.count()), quiet_ns_(window.count() / lines) {}

    // Returns true when this event may be logged; *suppressed receives how many events were
    // held back since the last line that was let through (or the last summary).
    bool allow(std::uint64_t* suppressed) {
        const std::int64_t now = now_ns();
        std::int64_t start = window_start_ns_.load(std::memory_order_relaxed);
        // A new window: whoever opens it resets the line count (a racing event may slip into
        // the old count; only how many lines show can be off by one, never a held count).
        if (now - start >= window_ns_ && window_start_ns_.compare_exchange_strong(start, now, std::memory_order_relaxed))
            used_.store(0, std::memory_order_relaxed);
        if (used_.fetch_add(1, std::memory_order_relaxed) < lines_) {
            *suppressed = held_.exchange(0, std::memory_order_relaxed);
            return true;
        }
        // First event of a held run: remember when it began, for the summary's "in the last ...".
        if (held_.fetch_add(1, std::memory_order_relaxed) == 0) first_held_ns_.store(now, std::memory_order_relaxed);
        last_held_ns_.store(now, std::memory_order_relaxed);
        return false;
    }

    // Returns the events held back since the last line let through, and forgets them, once
    // the burst they belong to is over: none for window/lines (100 ms by default). Returns 0
    // while events keep coming (a later line will carry the count) or when none was held.
    // *held_for_ns receives how long ago the first of them happened.
    std::uint64_t take_ended_burst(std::int64_t* held_for_ns) {
        if (held_.load(std::memory_order_relaxed) == 0) return 0;
        const std::int64_t now = now_ns();
        if (now - last_held_ns_.load(std::memory_order_relaxed) < quiet_ns_) return 0;
        *held_for_ns = now - first_held_ns_.load(std::memory_order_relaxed);
        return held_.exchange(0, std::memory_order_relaxed);
    }

private:
    static std::int64_t now_ns() {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
            .count();
    }

    const std::uint64_t lines_;
    const std::int64_t window_ns_;
    const std::int64_t quiet_ns_;  // no event for this long: the burst is over
    std::atomic<std::int64_t> window_start_ns_{std::numeric_limits<std::int64_t>::min() / 2};
    std::atomic<std::uint64_t> used_{0};
    std::atomic<std::uint64_t> held_{0};
    std::atomic<std::int64_t> first_held_ns_{0};
    std::atomic<std::int64_t> last_held_ns_{0};
};

}  // namespace switchyard
