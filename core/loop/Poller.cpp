#include "core/loop/Poller.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace switchyard {

namespace asio = boost::asio;

namespace {
constexpr int kBatch = 256;
}

struct Poller::Impl {
    explicit Impl(asio::io_context& io) : io(io), descriptor(io.get_executor()) {
        epfd = ::epoll_create1(EPOLL_CLOEXEC);
        if (epfd < 0) throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
        descriptor.assign(epfd);
    }

    void arm() {
        descriptor.async_wait(Descriptor::wait_read, [this](const boost::system::error_code& ec) {
            if (!ec) drain();
        });
    }

    // Dispatches what is ready. A full batch may leave more behind: run again after the loop's
    // other handlers rather than re-arm, so one busy poller cannot starve timers and posts.
    void drain() {
        epoll_event events[kBatch];
        int n = ::epoll_wait(epfd, events, kBatch, 0);
        for (int i = 0; i < n; ++i) static_cast<PollHandler*>(events[i].data.ptr)->on_poll_events(events[i].events);
        if (n == kBatch)
            asio::post(io, [this] { drain(); });
        else
            arm();
    }

    using Descriptor = asio::posix::basic_stream_descriptor<asio::io_context::executor_type>;
    asio::io_context& io;
    Descriptor descriptor;  // owns epfd
    int epfd = -1;
};

Poller::Poller(asio::io_context& io) : impl_(std::make_unique<Impl>(io)) {}

Poller::~Poller() = default;

int Poller::add(int fd, PollHandler* handler) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = handler;
    return ::epoll_ctl(impl_->epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : errno;
}

void Poller::start() { impl_->arm(); }

}  // namespace switchyard
