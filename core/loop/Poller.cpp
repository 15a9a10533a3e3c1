#include "core/loop/Poller.hpp"

#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace switchyard {

namespace {
constexpr int kBatch = 256;
}

Poller::Poller() {
    epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
}

Poller::~Poller() { ::close(epfd_); }

int Poller::add(int fd, PollHandler* handler, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = handler;
    return ::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : errno;
}

int Poller::remove(int fd) { return ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr) == 0 ? 0 : errno; }

int Poller::wait(bool block) {
    epoll_event events[kBatch];
    const bool yield_first = block && yield_before_sleep_;
    int n = ::epoll_wait(epfd_, events, kBatch, block && !yield_first ? -1 : 0);
    if (n == 0 && yield_first) {
        // Nothing ready. The threads runnable on this CPU are often the very backend or client
        // this loop just wrote to: let them run first, then wait. The wait then usually returns
        // at once with what they produced, a batch, without this thread sleeping and being woken
        // (a wake-up, often an inter-processor interrupt, for every few requests). sched_yield
        // returns at once when nothing else is runnable here, so an idle host loses nothing.
        ::sched_yield();
        n = ::epoll_wait(epfd_, events, kBatch, -1);
    }
    if (n <= 0) return 0;  // EINTR or nothing ready: the caller loops
    for (int i = 0; i < n; ++i) static_cast<PollHandler*>(events[i].data.ptr)->on_poll_events(events[i].events);
    return n;
}

}  // namespace switchyard
