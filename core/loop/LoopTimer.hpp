#pragma once
// A one-shot timer on a loop's TimerQueue: arm it for a deadline, and its callback runs on the
// loop thread once the deadline has passed, unless it is cancelled or re-armed first. Destroying
// an armed timer cancels it. Re-arm from the callback for periodic work. Loop thread only (or
// before the loop runs, or after it has stopped).
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "core/loop/LoopTask.hpp"

namespace switchyard {

class TimerQueue;

class LoopTimer {
public:
    using Clock = std::chrono::steady_clock;

    LoopTimer(TimerQueue& queue, LoopTask on_fire) : queue_(queue), on_fire_(std::move(on_fire)) {}
    ~LoopTimer() { cancel(); }
    LoopTimer(const LoopTimer&) = delete;
    LoopTimer& operator=(const LoopTimer&) = delete;

    void arm_at(Clock::time_point deadline);
    void arm_after(Clock::duration delay) { arm_at(Clock::now() + delay); }
    void cancel();
    bool armed() const { return slot_ != kNotArmed; }

private:
    friend class TimerQueue;
    static constexpr std::size_t kNotArmed = ~std::size_t{0};

    TimerQueue& queue_;
    LoopTask on_fire_;
    Clock::time_point deadline_{};
    std::uint64_t seq_ = 0;
    std::size_t slot_ = kNotArmed;  // index in the queue's heap
};

}  // namespace switchyard
