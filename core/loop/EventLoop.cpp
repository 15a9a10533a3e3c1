#include "core/loop/EventLoop.hpp"

#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace switchyard {

EventLoop::EventLoop(std::size_t index)
    : index_(index),
      tick_timer_(timers_, [this] { on_tick(); }),
      sweep_timer_(timers_, [this] { on_sweep(); }) {
    wakeup_.fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wakeup_.fd < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
    timer_signal_.fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);  // steady_clock's clock
    if (timer_signal_.fd < 0) {
        int err = errno;
        ::close(wakeup_.fd);
        throw std::runtime_error(std::string("timerfd_create: ") + std::strerror(err));
    }
    int err = poller_.add(wakeup_.fd, &wakeup_, EPOLLIN | EPOLLET);
    if (!err) err = poller_.add(timer_signal_.fd, &timer_signal_, EPOLLIN | EPOLLET);
    if (err) {
        ::close(wakeup_.fd);
        ::close(timer_signal_.fd);
        throw std::runtime_error(std::string("epoll_ctl: ") + std::strerror(err));
    }
}

EventLoop::~EventLoop() {
    stop();
    join();
    ::close(wakeup_.fd);
    ::close(timer_signal_.fd);
    // Tasks never run are dropped with the queues, after the timers are disarmed by their owners.
    deferred_.clear();
    running_.clear();
    posted_.clear();
}

void EventLoop::set_tick(Clock::duration period, TickHandler handler) {
    tick_period_ = period;
    on_tick_ = std::move(handler);
}

void EventLoop::set_idle_sweep(Clock::duration period) { sweep_period_ = period; }

void EventLoop::retime(Clock::duration tick, Clock::duration idle_sweep) {
    tick_period_ = tick;
    if (tick_period_.count() > 0) {
        next_tick_ = now_ + tick_period_;
        tick_timer_.arm_at(next_tick_);
    } else {
        tick_timer_.cancel();
    }
    sweep_period_ = idle_sweep;
    if (sweep_period_.count() > 0) {
        sweep_timer_.arm_after(sweep_period_);
    } else {
        sweep_timer_.cancel();
    }
}

void EventLoop::start() {
    thread_ = std::thread([this] { run(); });
    native_thread_ = thread_.native_handle();
    started_.store(true, std::memory_order_release);
}

void EventLoop::run() {
    thread_id_.store(std::this_thread::get_id());
    // Named for top -H, perf and gdb: "sy-loop-3" (the admin endpoint is "sy-admin").
    std::string name = "sy-loop-" + std::to_string(index_);
    ::pthread_setname_np(::pthread_self(), name.substr(0, 15).c_str());
    now_ = Clock::now();
    if (tick_period_.count() > 0) {
        next_tick_ = now_ + tick_period_;
        tick_timer_.arm_at(next_tick_);
    }
    if (sweep_period_.count() > 0) sweep_timer_.arm_after(sweep_period_);
    run_timers();  // points the timerfd at the first deadline
    try {
        while (!stop_requested_.load(std::memory_order_acquire)) turn();
    } catch (const std::exception& e) {
        // A handler threw: a bug. Log loudly rather than take the whole process down silently.
        spdlog::critical("loop {}: unhandled exception: {}", index_, e.what());
        throw;
    }
    tick_timer_.cancel();
    sweep_timer_.cancel();
}

void EventLoop::turn() {
    poller_.wait(/*block=*/deferred_.empty());
    now_ = Clock::now();
    if (wakeup_.fired) run_posted();
    run_deferred();
    run_timers();
}

void EventLoop::run_timers() {
    if (timer_signal_.fired) {
        timer_signal_.fired = false;
        std::uint64_t expirations;
        [[maybe_unused]] auto n = ::read(timer_signal_.fd, &expirations, sizeof expirations);
        timerfd_deadline_ = Clock::time_point::max();
        timers_.run_due(now_);  // read after the wait that reported the timerfd: past its deadline
    }
    // Re-arm only when the earliest deadline moved earlier: a later one (the timer it was set for
    // was cancelled) costs at most one early wake-up, cheaper than a syscall on every cancel.
    if (timers_.empty() || timers_.next_deadline() >= timerfd_deadline_) return;
    timerfd_deadline_ = timers_.next_deadline();
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(timerfd_deadline_.time_since_epoch()).count();
    if (ns <= 0) ns = 1;  // 0 would disarm
    itimerspec spec{};
    spec.it_value.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    spec.it_value.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    ::timerfd_settime(timer_signal_.fd, TFD_TIMER_ABSTIME, &spec, nullptr);
}

void EventLoop::wake() {
    std::uint64_t one = 1;
    // The loop reads the counter back on every wake-up, so it cannot fill and refuse a write.
    [[maybe_unused]] auto n = ::write(wakeup_.fd, &one, sizeof one);
}

void EventLoop::post(LoopTask task) {
    bool must_wake;
    {
        std::lock_guard lock(posted_mutex_);
        posted_.push_back(std::move(task));
        must_wake = !wake_pending_;
        wake_pending_ = true;
    }
    if (must_wake) wake();
}

void EventLoop::defer(LoopTask task) { deferred_.push_back(std::move(task)); }

void EventLoop::run_posted() {
    wakeup_.fired = false;
    std::uint64_t count;
    [[maybe_unused]] auto n = ::read(wakeup_.fd, &count, sizeof count);
    {
        std::lock_guard lock(posted_mutex_);
        running_.swap(posted_);
        wake_pending_ = false;
    }
    for (auto& task : running_) task();
    running_.clear();
}

void EventLoop::run_deferred() {
    if (deferred_.empty()) return;
    running_.swap(deferred_);
    for (auto& task : running_) task();  // tasks deferred now land in deferred_: next turn
    running_.clear();
}

void EventLoop::on_tick() {
    auto now = Clock::now();
    auto lag = now - next_tick_;
    // Next tick keeps the cadence; when the loop fell more than a period behind, skip ahead
    // instead of firing a burst of catch-up ticks.
    next_tick_ += tick_period_;
    if (next_tick_ <= now) next_tick_ = now + tick_period_;
    tick_timer_.arm_at(next_tick_);
    if (on_tick_) on_tick_(*this, lag);
}

void EventLoop::on_sweep() {
    sweep_timer_.arm_after(sweep_period_);
    auto now = Clock::now();
    sessions_.for_each([now](LoopSession* s) { s->check_idle(now); });
}

void EventLoop::stop() {
    stop_requested_.store(true, std::memory_order_release);
    wake();
}

void EventLoop::join() {
    started_.store(false, std::memory_order_release);
    if (thread_.joinable()) thread_.join();
}

double EventLoop::cpu_seconds() const {
    if (!started_.load(std::memory_order_acquire)) return 0;
    clockid_t clock;
    timespec ts{};
    if (pthread_getcpuclockid(native_thread_, &clock) != 0 || clock_gettime(clock, &ts) != 0) return 0;
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void EventLoop::attach(LoopSession* s) {
    sessions_.push_back(s);
    session_count_.store(sessions_.size(), std::memory_order_relaxed);
}

void EventLoop::detach(LoopSession* s) {
    sessions_.erase(s);
    session_count_.store(sessions_.size(), std::memory_order_relaxed);
}

void EventLoop::force_close_all() {
    sessions_.for_each([](LoopSession* s) { s->force_close(); });
}

void EventLoop::force_close_owned(const std::vector<const void*>& owners) {
    sessions_.for_each([&](LoopSession* s) {
        for (const void* owner : owners)
            if (s->owner() == owner) {
                s->force_close();
                return;
            }
    });
}

}  // namespace switchyard
