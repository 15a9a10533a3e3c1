#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <random>
#include <vector>

#include "core/loop/LoopTimer.hpp"
#include "core/loop/TimerQueue.hpp"

using namespace switchyard;
using Clock = TimerQueue::Clock;
using std::chrono::milliseconds;

TEST_CASE("timers fire in deadline order, ties in arming order, and only once due") {
    TimerQueue q;
    std::vector<int> fired;
    auto t0 = Clock::time_point{} + std::chrono::hours(1);
    LoopTimer a(q, [&] { fired.push_back(1); });
    LoopTimer b(q, [&] { fired.push_back(2); });
    LoopTimer c(q, [&] { fired.push_back(3); });
    c.arm_at(t0 + milliseconds(30));
    a.arm_at(t0 + milliseconds(10));
    b.arm_at(t0 + milliseconds(30));
    CHECK(q.size() == 3);
    CHECK(q.next_deadline() == t0 + milliseconds(10));
    CHECK(q.run_due(t0) == 0);
    CHECK(q.run_due(t0 + milliseconds(10)) == 1);
    CHECK(fired == std::vector<int>{1});
    CHECK_FALSE(a.armed());
    CHECK(q.run_due(t0 + milliseconds(100)) == 2);
    CHECK(fired == std::vector<int>{1, 3, 2});  // c was armed before b for the same deadline
    CHECK(q.empty());
}

TEST_CASE("cancelling, re-arming and destroying a timer take it out of the queue") {
    TimerQueue q;
    int fired = 0;
    auto t0 = Clock::time_point{} + std::chrono::hours(1);
    LoopTimer a(q, [&] { ++fired; });
    a.arm_at(t0 + milliseconds(5));
    a.cancel();
    CHECK_FALSE(a.armed());
    CHECK(q.empty());
    a.cancel();  // harmless when not armed
    a.arm_at(t0 + milliseconds(5));
    a.arm_at(t0 + milliseconds(50));  // re-arming moves it
    CHECK(q.size() == 1);
    CHECK(q.run_due(t0 + milliseconds(10)) == 0);
    {
        LoopTimer gone(q, [&] { fired += 100; });
        gone.arm_at(t0);
        CHECK(q.size() == 2);
    }
    CHECK(q.size() == 1);
    CHECK(q.run_due(t0 + milliseconds(60)) == 1);
    CHECK(fired == 1);
}

TEST_CASE("a timer re-armed by its own callback for a past time fires on the next run, not in a loop") {
    TimerQueue q;
    int fired = 0;
    auto t0 = Clock::time_point{} + std::chrono::hours(1);
    std::unique_ptr<LoopTimer> t;
    t = std::make_unique<LoopTimer>(q, [&] {
        ++fired;
        t->arm_at(t0);
    });
    t->arm_at(t0);
    CHECK(q.run_due(t0 + milliseconds(1)) == 1);
    CHECK(t->armed());
    CHECK(q.run_due(t0 + milliseconds(1)) == 1);
    CHECK(fired == 2);
}

TEST_CASE("the heap stays ordered through random arming and cancelling") {
    TimerQueue q;
    std::mt19937 rng(42);
    auto t0 = Clock::time_point{} + std::chrono::hours(1);
    std::vector<Clock::time_point> fired_at;
    std::vector<std::unique_ptr<LoopTimer>> timers;
    std::vector<Clock::time_point> deadlines(2000);
    for (std::size_t i = 0; i < deadlines.size(); ++i) {
        timers.push_back(std::make_unique<LoopTimer>(q, [&, i] { fired_at.push_back(deadlines[i]); }));
        deadlines[i] = t0 + milliseconds(rng() % 500);
        timers.back()->arm_at(deadlines[i]);
    }
    std::size_t live = timers.size();
    for (std::size_t i = 0; i < timers.size(); i += 3) {
        timers[i]->cancel();
        --live;
    }
    for (std::size_t i = 1; i < timers.size(); i += 7) {
        deadlines[i] = t0 + milliseconds(rng() % 500);  // re-arm some, cancelled ones included
        if (!timers[i]->armed()) ++live;
        timers[i]->arm_at(deadlines[i]);
    }
    CHECK(q.size() == live);
    std::size_t fired = 0;
    for (int ms = 0; ms <= 510; ms += 17) fired += q.run_due(t0 + milliseconds(ms));
    CHECK(fired == live);
    CHECK(std::is_sorted(fired_at.begin(), fired_at.end()));
    CHECK(q.empty());
}
