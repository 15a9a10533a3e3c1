#pragma once
// The loop's timers: a binary min-heap of armed LoopTimers ordered by deadline, so arming and
// cancelling cost O(log n) and the loop learns how long it may sleep from the top. Timers are
// intrusive (each knows its heap slot): a connection's connect timeout allocates nothing.
// Loop thread only.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace switchyard {

class LoopTimer;

class TimerQueue {
public:
    using Clock = std::chrono::steady_clock;

    TimerQueue() = default;
    TimerQueue(const TimerQueue&) = delete;
    TimerQueue& operator=(const TimerQueue&) = delete;

    bool empty() const { return heap_.empty(); }
    std::size_t size() const { return heap_.size(); }
    // The earliest deadline; only when !empty().
    Clock::time_point next_deadline() const;

    // Fires the timers due at `now`, earliest first, and returns how many fired. A timer that
    // its own callback re-arms for a time already past fires on the next call, not in a loop.
    std::size_t run_due(Clock::time_point now);

private:
    friend class LoopTimer;
    void schedule(LoopTimer& t, Clock::time_point deadline);  // re-schedules an armed timer
    void cancel(LoopTimer& t);
    bool before(std::size_t a, std::size_t b) const;
    void place(std::size_t i, LoopTimer* t);
    void sift_up(std::size_t i);
    void sift_down(std::size_t i);
    void remove_at(std::size_t i);

    std::vector<LoopTimer*> heap_;
    std::uint64_t next_seq_ = 0;  // arming order: ties fire first-armed first
};

}  // namespace switchyard
