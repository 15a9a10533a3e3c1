#pragma once
// The loop's own edge-triggered epoll for connection sockets. Each socket is registered once
// (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) for its whole life, so waiting for data costs no
// system call: Asio's async_wait re-arms with epoll_ctl on every wait, which was a third of a
// relay's system calls. The poller's own descriptor sits in the loop's io_context, so timers,
// posts and accepts keep running through Asio. Loop thread only.
#include <cstdint>
#include <memory>

namespace boost::asio {
class io_context;
}

namespace switchyard {

// Receives the readiness of one registered socket.
class PollHandler {
public:
    // Loop thread. `events` is the epoll mask (EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLHUP, EPOLLERR).
    virtual void on_poll_events(std::uint32_t events) = 0;

protected:
    ~PollHandler() = default;
};

class Poller {
public:
    explicit Poller(boost::asio::io_context& io);  // control thread; throws on epoll_create failure
    ~Poller();

    // Loop thread: watches fd until it is closed (closing a socket removes it from epoll).
    // The handler must stay alive until then and until the batch being dispatched ends.
    // Returns errno on failure, 0 on success.
    int add(int fd, PollHandler* handler);

    // Loop thread (or before the loop runs): starts waiting for readiness.
    void start();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace switchyard
