#pragma once
// One reactor: one thread sleeping in its own epoll (Poller), a timer heap behind one timerfd,
// a task queue other threads post to through an eventfd, a buffer pool and the sessions pinned
// to it. One turn of the loop: wait for readiness, dispatch the ready descriptors, run what
// other threads posted, run what this turn deferred, fire the due timers, and point the timerfd
// at the earliest deadline when that moved earlier. (gnet's eventloop, muduo's EventLoop.)
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <pthread.h>
#include <thread>
#include <vector>

#include "core/loop/BufferPool.hpp"
#include "core/loop/LoopSession.hpp"
#include "core/loop/LoopTask.hpp"
#include "core/loop/LoopTimer.hpp"
#include "core/loop/Poller.hpp"
#include "core/loop/TimerQueue.hpp"

namespace switchyard {

class EventLoop {
public:
    using Clock = std::chrono::steady_clock;
    // Called on the loop thread every tick with how late the tick fired.
    using TickHandler = std::function<void(EventLoop&, Clock::duration lag)>;

    explicit EventLoop(std::size_t index);  // throws std::runtime_error when out of descriptors
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    std::size_t index() const { return index_; }  // any thread

    // Control thread, before start(): tick period and handler; idle sweep period (0 = none).
    void set_tick(Clock::duration period, TickHandler handler);
    void set_idle_sweep(Clock::duration period);
    // Loop thread only, while running (a configuration reload): new tick and idle sweep
    // periods (0 = none), counted from now; the tick handler stays.
    void retime(Clock::duration tick, Clock::duration idle_sweep);
    // Control thread, before start(), or loop thread: see Poller::set_yield_before_sleep.
    void set_yield_before_sleep(bool yield) { poller_.set_yield_before_sleep(yield); }

    void start();  // control thread: spawns the loop thread
    void stop();   // any thread: the loop returns after the turn it is in; queued tasks are dropped
    void join();   // control thread
    bool in_loop_thread() const { return std::this_thread::get_id() == thread_id_.load(); }  // any thread

    // Any thread: CPU time the loop thread has used (user + system), in seconds; 0 before
    // start(). A loop that is never idle gains one second per second: its busy time.
    double cpu_seconds() const;

    // Any thread (before start() too): run task on the loop thread, in posting order.
    void post(LoopTask task);
    // Loop thread only: run task later in this turn, after the ready descriptors being
    // dispatched now (so a handler may drop what later events of the batch still name), or
    // first thing next turn when deferred from a deferred task.
    void defer(LoopTask task);

    // Loop thread only: when the current turn's wait returned. One clock read per turn serves
    // every activity stamp of the turn (HAProxy's now_ms), not one per read.
    Clock::time_point now() const { return now_; }

    BufferPool& buffers() { return buffers_; }     // loop thread only
    // Any thread: relay buffer bytes lent to connections / pooled, as the loop last published them.
    std::size_t buffer_bytes_borrowed() const { return buffers_.published_borrowed_bytes(); }
    std::size_t buffer_bytes_pooled() const { return buffers_.published_retained_bytes(); }
    Poller& poller() { return poller_; }           // loop thread only
    TimerQueue& timers() { return timers_; }       // loop thread only
    SessionList& sessions() { return sessions_; }  // loop thread only

    // Connections assigned to this loop (counted when a balancer picks it, so a burst of
    // accepts does not all land on the same "least loaded" loop). Any thread.
    std::int64_t load() const { return load_.load(std::memory_order_relaxed); }
    void add_load(std::int64_t d) { load_.fetch_add(d, std::memory_order_relaxed); }

    // Any thread: sessions currently hosted (published by the loop for drain and gauges).
    std::size_t session_count() const { return session_count_.load(std::memory_order_relaxed); }
    // Loop thread only: register / unregister a session on this loop.
    void attach(LoopSession* s);
    void detach(LoopSession* s);
    // Loop thread only: close every hosted session now.
    void force_close_all();
    // Loop thread only: close now every hosted session whose owner() is in `owners`.
    void force_close_owned(const std::vector<const void*>& owners);

private:
    // A descriptor whose readiness only raises a flag for the end of the turn: the eventfd
    // other threads write to wake the loop for posted tasks (or stop), and the timerfd set to
    // the earliest timer deadline.
    struct Signal final : PollHandler {
        int fd = -1;
        bool fired = false;
        void on_poll_events(std::uint32_t) override { fired = true; }
    };

    void run();
    void turn();
    void wake();
    void run_posted();
    void run_deferred();
    void run_timers();
    void on_tick();
    void on_sweep();

    std::size_t index_;
    // Declared before the task queues: tasks dropped at destruction may hold the last
    // reference to a session, whose timers and buffers go back here.
    Poller poller_;
    TimerQueue timers_;
    BufferPool buffers_;
    SessionList sessions_;
    Signal wakeup_;
    Signal timer_signal_;
    Clock::time_point timerfd_deadline_ = Clock::time_point::max();  // what the timerfd is set to
    LoopTimer tick_timer_;
    LoopTimer sweep_timer_;
    Clock::duration tick_period_{};
    Clock::duration sweep_period_{};
    Clock::time_point next_tick_{};
    Clock::time_point now_ = Clock::now();
    TickHandler on_tick_;

    std::thread thread_;
    pthread_t native_thread_{};
    std::atomic<bool> started_{false};
    std::atomic<bool> stop_requested_{false};
    std::atomic<std::thread::id> thread_id_{};

    std::mutex posted_mutex_;
    std::vector<LoopTask> posted_;  // guarded by posted_mutex_
    bool wake_pending_ = false;     // guarded by posted_mutex_: the eventfd was written since the last swap
    std::vector<LoopTask> running_;   // loop thread: the batch of posted or deferred tasks being run
    std::vector<LoopTask> deferred_;  // loop thread

    alignas(64) std::atomic<std::int64_t> load_{0};
    alignas(64) std::atomic<std::size_t> session_count_{0};
};

}  // namespace switchyard
