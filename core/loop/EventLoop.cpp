#include "core/loop/EventLoop.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <optional>
#include <pthread.h>
#include <time.h>

namespace switchyard {

namespace asio = boost::asio;

struct EventLoop::Timers {
    explicit Timers(asio::io_context& io) : tick(io), sweep(io), work(io.get_executor()) {}
    asio::steady_timer tick;
    asio::steady_timer sweep;
    asio::executor_work_guard<asio::io_context::executor_type> work;
};

EventLoop::EventLoop(std::size_t index)
    : index_(index),
      // Only this loop's thread runs the context and touches its sockets, so Asio may skip the
      // per-socket I/O locks; posting from other threads (hand-offs, stop) stays locked.
      context_(std::make_unique<asio::io_context>(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO)),
      timers_(std::make_unique<Timers>(*context_)),
      poller_(std::make_unique<Poller>(*context_)) {}

EventLoop::~EventLoop() {
    stop();
    join();
    poller_.reset();
    timers_.reset();
}

void EventLoop::set_tick(Clock::duration period, TickHandler handler) {
    tick_period_ = period;
    on_tick_ = std::move(handler);
}

void EventLoop::set_idle_sweep(Clock::duration period) { sweep_period_ = period; }

void EventLoop::start() {
    thread_ = std::thread([this] { run(); });
    native_thread_ = thread_.native_handle();
    started_.store(true, std::memory_order_release);
}

void EventLoop::run() {
    thread_id_.store(std::this_thread::get_id());
    if (tick_period_.count() > 0) {
        next_tick_ = Clock::now() + tick_period_;
        arm_tick();
    }
    if (sweep_period_.count() > 0) arm_sweep();
    poller_->start();
    try {
        context_->run();
    } catch (const std::exception& e) {
        // A handler threw: a bug. Log loudly rather than take the whole process down silently.
        spdlog::critical("loop {}: unhandled exception: {}", index_, e.what());
        throw;
    }
}

void EventLoop::arm_tick() {
    timers_->tick.expires_at(next_tick_);
    timers_->tick.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        auto now = Clock::now();
        auto lag = now - next_tick_;
        // Next tick keeps the cadence; when the loop fell more than a period behind, skip ahead
        // instead of firing a burst of catch-up ticks.
        next_tick_ += tick_period_;
        if (next_tick_ <= now) next_tick_ = now + tick_period_;
        if (on_tick_) on_tick_(*this, lag);
        arm_tick();
    });
}

void EventLoop::arm_sweep() {
    timers_->sweep.expires_after(sweep_period_);
    timers_->sweep.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        auto now = Clock::now();
        sessions_.for_each([now](LoopSession* s) { s->check_idle(now); });
        arm_sweep();
    });
}

void EventLoop::stop() {
    if (context_) context_->stop();
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

void EventLoop::post(std::function<void()> fn) { asio::post(*context_, std::move(fn)); }

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

}  // namespace switchyard
