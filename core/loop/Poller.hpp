#pragma once
// The loop's edge-triggered epoll: the one place a loop thread sleeps. Connection sockets are
// registered once (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) for their whole life, so waiting
// for data costs no system call, and a busy loop's turn is one epoll_wait (an idle one looks,
// yields the CPU once, then sleeps: see set_yield_before_sleep): the loop's timers and
// other threads' posts arrive through a timerfd and an eventfd registered here like any socket
// (gnet's and HAProxy's poller loops, not Asio's reactor nested under a second epoll). The wait
// itself never carries a timeout, which would arm a kernel timer on every sleep. Loop thread only.
#include <sys/epoll.h>

#include <cstdint>

namespace switchyard {

// Receives the readiness of one registered descriptor.
class PollHandler {
public:
    // Loop thread. `events` is the epoll mask (EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLHUP, EPOLLERR).
    virtual void on_poll_events(std::uint32_t events) = 0;

protected:
    ~PollHandler() = default;
};

class Poller {
public:
    static constexpr std::uint32_t kStreamEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;

    Poller();  // throws std::runtime_error when epoll_create1 fails
    ~Poller();
    Poller(const Poller&) = delete;
    Poller& operator=(const Poller&) = delete;

    // Watches fd until it is closed (closing a descriptor removes it from epoll). The handler
    // must stay alive until then and until the batch being dispatched ends. Returns errno on
    // failure, 0 on success.
    int add(int fd, PollHandler* handler, std::uint32_t events = kStreamEvents);
    // Stops watching fd without closing it, to hand it to another poller (a connection that
    // waited for its PROXY header here and is served elsewhere). Its handler may still be
    // named by events of the batch being dispatched: keep it alive until the batch ends.
    // Returns errno on failure, 0 on success.
    int remove(int fd);

    // Waits until a descriptor is ready (block) or just looks (!block), then calls the handler
    // of each ready one. Returns how many were dispatched.
    int wait(bool block);

    // Before sleeping, first look, then yield the CPU once (loop_wait: yield, the default), or
    // sleep at once (loop_wait: block). Set before the loop starts.
    void set_yield_before_sleep(bool yield) { yield_before_sleep_ = yield; }

private:
    int epfd_ = -1;
    bool yield_before_sleep_ = true;
};

}  // namespace switchyard
