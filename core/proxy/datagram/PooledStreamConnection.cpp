#include "core/proxy/datagram/PooledStreamConnection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/loop/EventLoop.hpp"
#include "core/metrics/Counter.hpp"
#include "core/metrics/Gauge.hpp"
#include "core/proxy/ListenerContext.hpp"
#include "core/proxy/UpstreamPool.hpp"

namespace switchyard {

namespace {

inline void inc(metrics::Counter* c, std::size_t shard, std::uint64_t n = 1) {
    if (c) c->inc(shard, n);
}

}  // namespace

PooledStreamConnection::PooledStreamConnection(EventLoop& loop, ListenerContext& ctx)
    : loop_(loop), ctx_(ctx), retry_(loop.timers(), [this] { connect(); }) {}

PooledStreamConnection::~PooledStreamConnection() {
    if (fd_ >= 0) ::close(fd_);
    if (pending_) loop_.buffers().release(std::move(pending_));
}

void PooledStreamConnection::connect() {
    UpstreamPool& pool = *ctx_.upstream;
    std::size_t idx = pool.pick(loop_.index(), 0, tried_);
    if (idx == UpstreamPool::kNone) {
        // when_all_down: reject, and no endpoint is healthy (the pool has counted and logged
        // it): stay down, frames are dropped as stream_down, and look again after a back-off.
        retry_.arm_after(next_backoff());
        return;
    }
    tried_ = (tried_ | (std::uint64_t{1} << (idx % 64)));
    if (tried_ == (pool.size() >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << pool.size()) - 1)) tried_ = 0;
    UpstreamEndpoint& ep = pool.endpoint(idx);
    const SocketAddress& addr = ep.resolved.front();
    endpoint_ = static_cast<std::int32_t>(idx);
    if (ep.metrics) inc(ep.metrics->connect_attempts, loop_.index());
    state_ = State::connecting;
    fd_ = ::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        failed(errno);
        return;
    }
    if (addr.family() != AF_UNIX) {
        int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    if (int err = loop_.poller().add(fd_, this)) {
        failed(err);
        return;
    }
    if (::connect(fd_, addr.data(), addr.length) == 0) {
        connected();
        return;
    }
    if (errno != EINPROGRESS) failed(errno);
    // else: EPOLLOUT (or EPOLLERR) says how it went
}

void PooledStreamConnection::connected() {
    state_ = State::up;
    failures_ = 0;
    tried_ = 0;
    UpstreamPool& pool = *ctx_.upstream;
    pool.report_success(static_cast<std::size_t>(endpoint_), UpstreamPool::Attempt::connect);
    auto& ep = pool.endpoint(static_cast<std::size_t>(endpoint_));
    ep.active.fetch_add(1, std::memory_order_relaxed);
    if (ep.metrics && ep.metrics->connections_active) ep.metrics->connections_active->add(loop_.index(), 1);
    spdlog::info("listener {}: loop {}: stream connection to upstream {} endpoint {} is up", ctx_.options.name,
                 loop_.index(), pool.name(), ep.label);
}

void PooledStreamConnection::failed(int error) {
    UpstreamPool& pool = *ctx_.upstream;
    auto& ep = pool.endpoint(static_cast<std::size_t>(endpoint_));
    if (state_ == State::up) {
        ep.active.fetch_sub(1, std::memory_order_relaxed);
        if (ep.metrics && ep.metrics->connections_active) ep.metrics->connections_active->add(loop_.index(), -1);
    } else {
        pool.report_failure(static_cast<std::size_t>(endpoint_), UpstreamPool::Attempt::connect);
        if (ep.metrics && ep.metrics->connect_failures[static_cast<int>(ConnectFailureReason::other)])
            ep.metrics->connect_failures[static_cast<int>(error == ECONNREFUSED || error == ENOENT
                                                              ? ConnectFailureReason::refused
                                                              : ConnectFailureReason::other)]
                ->inc(loop_.index());
    }
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    state_ = State::down;
    if (pending_) loop_.buffers().release(std::move(pending_));  // what waited is lost with the connection
    pending_begin_ = pending_end_ = 0;
    const auto delay = next_backoff();
    std::uint64_t suppressed = 0;
    if (ctx_.error_log.allow(&suppressed))
        spdlog::warn("listener {}: loop {}: stream connection to upstream {} endpoint {}: {}; retrying in {} ms{}",
                     ctx_.options.name, loop_.index(), pool.name(), ep.label,
                     error ? std::strerror(error) : "closed by the endpoint", delay.count(),
                     suppressed ? fmt::format(" ({} similar messages suppressed)", suppressed) : "");
    retry_.arm_after(delay);
}

std::chrono::milliseconds PooledStreamConnection::next_backoff() {
    // 100 ms, doubling to 5 s.
    auto delay = std::chrono::milliseconds(std::min<std::int64_t>(100LL << std::min<std::uint32_t>(failures_, 6), 5000));
    ++failures_;
    return delay;
}

DatagramDropReason PooledStreamConnection::write(const iovec* iov, int count) {
    if (state_ != State::up) return DatagramDropReason::stream_down;
    std::size_t total = 0;
    for (int i = 0; i < count; ++i) total += iov[i].iov_len;
    std::size_t written = 0;
    if (pending_end_ == pending_begin_) {
        msghdr h{};
        h.msg_iov = const_cast<iovec*>(iov);
        h.msg_iovlen = static_cast<std::size_t>(count);
        ssize_t n = ::sendmsg(fd_, &h, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            failed(errno);
            return DatagramDropReason::stream_down;
        }
        written = n > 0 ? static_cast<std::size_t>(n) : 0;
    }
    if (auto* m = ctx_.upstream->endpoint(static_cast<std::size_t>(endpoint_)).metrics)
        inc(m->bytes_sent, loop_.index(), written);
    if (written == total) return DatagramDropReason::count;
    // The socket took part (or nothing): the rest waits, bounded, for EPOLLOUT.
    const std::size_t rest = total - written;
    if (pending_end_ - pending_begin_ + rest > kMaxPending) {
        // Frames are never cut: a partly written one must still be finished, so only a
        // datagram the socket took none of may be dropped whole.
        if (written == 0) return DatagramDropReason::send_buffer_full;
    }
    if (!pending_) {
        pending_ = loop_.buffers().acquire(kMaxPending + 65536 * 2);
        pending_begin_ = pending_end_ = 0;
    }
    if (pending_end_ + rest > pending_.size) {
        std::memmove(pending_.data.get(), pending_.data.get() + pending_begin_, pending_end_ - pending_begin_);
        pending_end_ -= pending_begin_;
        pending_begin_ = 0;
    }
    std::size_t skip = written;
    for (int i = 0; i < count; ++i) {
        std::size_t len = iov[i].iov_len;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        std::memcpy(pending_.data.get() + pending_end_, static_cast<const std::uint8_t*>(iov[i].iov_base) + skip,
                    len - skip);
        pending_end_ += len - skip;
        skip = 0;
    }
    return DatagramDropReason::count;
}

void PooledStreamConnection::flush() {
    while (pending_end_ > pending_begin_) {
        ssize_t n = ::send(fd_, pending_.data.get() + pending_begin_, pending_end_ - pending_begin_,
                           MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            if (auto* m = ctx_.upstream->endpoint(static_cast<std::size_t>(endpoint_)).metrics)
                inc(m->bytes_sent, loop_.index(), static_cast<std::uint64_t>(n));
            pending_begin_ += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n < 0 && errno == EINTR) continue;
        failed(n < 0 ? errno : 0);
        return;
    }
    pending_begin_ = pending_end_ = 0;
    if (pending_) loop_.buffers().release(std::move(pending_));
}

void PooledStreamConnection::drain_input() {
    std::uint8_t sink[4096];
    for (;;) {
        ssize_t n = ::recv(fd_, sink, sizeof sink, MSG_DONTWAIT);
        if (n > 0) {
            if (auto* m = ctx_.upstream->endpoint(static_cast<std::size_t>(endpoint_)).metrics)
                inc(m->bytes_received, loop_.index(), static_cast<std::uint64_t>(n));
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n < 0 && errno == EINTR) continue;
        failed(n < 0 ? errno : 0);  // EOF or error: the endpoint closed the connection
        return;
    }
}

void PooledStreamConnection::on_poll_events(std::uint32_t events) {
    if (fd_ < 0) return;
    if (state_ == State::connecting) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            failed(err);
            return;
        }
        connected();
        // Edge-triggered: bytes that arrived with the connect's completion raise no new edge.
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) drain_input();
    if (fd_ >= 0 && (events & EPOLLOUT)) flush();
}

}  // namespace switchyard
