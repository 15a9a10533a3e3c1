#include "core/loop/LoopTimer.hpp"

#include "core/loop/TimerQueue.hpp"

namespace switchyard {

void LoopTimer::arm_at(Clock::time_point deadline) { queue_.schedule(*this, deadline); }

void LoopTimer::cancel() {
    if (armed()) queue_.cancel(*this);
}

}  // namespace switchyard
