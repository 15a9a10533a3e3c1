#pragma once
// One reactor: one thread, one io_context, one buffer pool, the sessions pinned to it.
// (muduo's EventLoop, Asio's io_context-per-thread pool.) Asio stays out of this header.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <pthread.h>

#include <thread>

#include "core/loop/BufferPool.hpp"
#include "core/loop/LoopSession.hpp"
#include "core/loop/Poller.hpp"

namespace boost::asio {
class io_context;
}

namespace switchyard {

class EventLoop {
public:
    using Clock = std::chrono::steady_clock;
    // Called on the loop thread every tick with how late the tick fired.
    using TickHandler = std::function<void(EventLoop&, Clock::duration lag)>;

    explicit EventLoop(std::size_t index);
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    std::size_t index() const { return index_; }  // any thread
    // Any thread: the io_context object (post work to it; run handlers only on the loop thread).
    boost::asio::io_context& context() { return *context_; }

    // Control thread, before start(): tick period and handler; idle sweep period (0 = none).
    void set_tick(Clock::duration period, TickHandler handler);
    void set_idle_sweep(Clock::duration period);

    void start();  // control thread: spawns the loop thread
    void stop();   // any thread: makes run() return
    void join();   // control thread
    bool in_loop_thread() const { return std::this_thread::get_id() == thread_id_.load(); }  // any thread

    // Any thread: CPU time the loop thread has used (user + system), in seconds; 0 before
    // start(). A loop that is never idle gains one second per second: its busy time.
    double cpu_seconds() const;

    // Any thread: run fn on the loop thread.
    void post(std::function<void()> fn);

    BufferPool& buffers() { return buffers_; }    // loop thread only
    Poller& poller() { return *poller_; }         // loop thread only
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

private:
    void run();
    void arm_tick();
    void arm_sweep();

    struct Timers;
    std::size_t index_;
    std::unique_ptr<boost::asio::io_context> context_;
    std::unique_ptr<Timers> timers_;
    std::unique_ptr<Poller> poller_;
    std::thread thread_;
    pthread_t native_thread_{};
    std::atomic<bool> started_{false};
    std::atomic<std::thread::id> thread_id_{};
    BufferPool buffers_;
    SessionList sessions_;
    Clock::duration tick_period_{};
    Clock::duration sweep_period_{};
    Clock::time_point next_tick_{};
    TickHandler on_tick_;
    alignas(64) std::atomic<std::int64_t> load_{0};
    alignas(64) std::atomic<std::size_t> session_count_{0};
};

}  // namespace switchyard
