#include "core/proxy/datagram/StreamToDatagramSession.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/smart_ptr/intrusive_ptr.hpp>
#include <cerrno>
#include <cstring>

#include "core/codec/Codec.hpp"
#include "core/loop/EventLoop.hpp"
#include "core/metrics/Counter.hpp"
#include "core/metrics/Gauge.hpp"
#include "core/proxy/ListenerContext.hpp"
#include "core/proxy/UpstreamPool.hpp"
#include "core/proxy/datagram/DatagramMetrics.hpp"
#include "core/proxy/datagram/DatagramPeer.hpp"

namespace switchyard {

using BridgePtr = boost::intrusive_ptr<StreamToDatagramSession>;

namespace {

// The largest UDP payload over IPv4: no frame larger than this can become one datagram.
constexpr std::size_t kMaxPayload = 65507;
// Client bytes buffered while a frame is incomplete: one whole largest frame with its header.
constexpr std::size_t kInBlock = kMaxPayload + 64;
constexpr int kBudget = 16;

inline void inc(metrics::Counter* c, std::size_t shard, std::uint64_t n = 1) {
    if (c) c->inc(shard, n);
}

}  // namespace

void StreamToDatagramSession::start(EventLoop& loop, ListenerContext& ctx, int fd, const PeerAddress& client) {
    BridgePtr s(new StreamToDatagramSession(loop, ctx, fd, client.ip_hash()));
    intrusive_ptr_add_ref(s.get());  // the open session's reference on itself, dropped by close()
    if (client.family() == AF_INET || client.family() == AF_INET6) {
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    if (int err = loop.poller().add(fd, &s->client_)) {
        spdlog::error("listener {}: cannot watch an accepted socket: {}", ctx.options.name, std::strerror(err));
        s->close();
        return;
    }
    if (!s->open_upstream()) {
        s->close();
        return;
    }
    s->read_client();  // bytes that came with the connection raised no edge of their own
}

StreamToDatagramSession::StreamToDatagramSession(EventLoop& loop, ListenerContext& ctx, int fd,
                                                 std::uint64_t client_ip_hash)
    : loop_(loop), ctx_(ctx), client_ip_hash_(client_ip_hash), last_activity_(loop.now()) {
    client_.session = upstream_.session = this;
    client_.fd = fd;
    upstream_.upstream = true;
    loop_.attach(this);
    inc(ctx_.metrics.connections_total, loop_.index());
    if (ctx_.metrics.connections_active) ctx_.metrics.connections_active->add(loop_.index(), 1);
}

bool StreamToDatagramSession::open_upstream() {
    UpstreamPool& pool = *ctx_.upstream;
    std::size_t idx = pool.pick(loop_.index(), client_ip_hash_, 0);
    if (idx == UpstreamPool::kNone) {
        // when_all_down: reject (the pool has counted and logged the state).
        inc(ctx_.metrics.rejected[static_cast<int>(RejectReason::no_healthy_endpoint)], loop_.index());
        std::uint64_t suppressed = 0;
        if (ctx_.error_log.allow(&suppressed))
            spdlog::warn("listener {}: no healthy endpoint in upstream {} (when_all_down: reject); closing the "
                         "client{}",
                         ctx_.options.name, pool.name(),
                         suppressed ? fmt::format(" ({} similar messages suppressed)", suppressed) : "");
        return false;
    }
    UpstreamEndpoint& ep = pool.endpoint(idx);
    const SocketAddress& addr = ep.resolved.front();
    int fd = ::socket(addr.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int err = fd < 0 ? errno : 0;
    if (!err && ::connect(fd, addr.data(), addr.length) != 0) err = errno;
    if (!err) err = loop_.poller().add(fd, &upstream_, EPOLLIN | EPOLLET);
    if (err) {
        if (fd >= 0) ::close(fd);
        pool.report_failure(idx, UpstreamPool::Attempt::connect);
        inc(ctx_.metrics.rejected[static_cast<int>(RejectReason::upstream_unavailable)], loop_.index());
        std::uint64_t suppressed = 0;
        if (ctx_.error_log.allow(&suppressed))
            spdlog::warn("listener {}: upstream {} endpoint {}: {}", ctx_.options.name, pool.name(), ep.label,
                         std::strerror(err));
        return false;
    }
    upstream_.fd = fd;
    endpoint_ = static_cast<std::int32_t>(idx);
    ep.active.fetch_add(1, std::memory_order_relaxed);
    return true;
}

void StreamToDatagramSession::on_events(bool upstream, std::uint32_t events) {
    if (closed_) return;
    BridgePtr keep(this);
    if (upstream) {
        read_upstream();
        return;
    }
    if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && out_end_ > out_begin_) {
        if (flush_client() && !closed_) read_upstream();  // replies that waited in the kernel
    }
    if (!closed_ && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) read_client();
}

void StreamToDatagramSession::count_drop(int reason) {
    inc(ctx_.datagram_metrics.dropped[reason], loop_.index());
}

void StreamToDatagramSession::read_client() {
    const Codec& codec = *ctx_.client_codec;
    const std::size_t shard = loop_.index();
    EndpointMetrics* em = ctx_.upstream->endpoint(static_cast<std::size_t>(endpoint_)).metrics;
    char reason[160];
    bool drained = false;
    for (int budget = kBudget; budget > 0 && !drained; --budget) {
        if (!in_) {
            in_ = loop_.buffers().acquire(kInBlock);
            in_end_ = 0;
        }
        const std::size_t want = in_.size - in_end_;
        ssize_t n = ::recv(client_.fd, in_.data.get() + in_end_, want, 0);
        if (n == 0) {  // the client is done: nothing more to ask, nowhere to answer
            close();
            return;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                drained = true;
                break;
            }
            if (errno == EINTR) continue;
            close();
            return;
        }
        last_activity_ = loop_.now();
        inc(ctx_.metrics.bytes_received, shard, static_cast<std::uint64_t>(n));
        in_end_ += static_cast<std::uint32_t>(n);
        // Every whole frame becomes one datagram: its payload, sent on the connected socket.
        std::size_t pos = 0;
        while (pos < in_end_) {
            DecodedFrame f = codec.decode(in_.data.get() + pos, in_end_ - pos, &stream_state_, reason, sizeof reason);
            if (f.status == DecodeStatus::need_more) break;
            if (f.status != DecodeStatus::frame) {
                codec_error(f.status == DecodeStatus::too_large ? CodecErrorReason::too_large
                                                                : CodecErrorReason::malformed,
                            reason);
                return;
            }
            if (f.payload_length > kMaxPayload) {
                codec_error(CodecErrorReason::too_large, "frame larger than the largest UDP payload (65507 bytes)");
                return;
            }
            inc(ctx_.metrics.frames_received, shard);
            ssize_t sent = ::send(upstream_.fd, in_.data.get() + pos + f.payload_offset, f.payload_length, MSG_DONTWAIT);
            if (sent >= 0) {
                if (em) {
                    inc(em->datagrams_sent, shard);
                    inc(em->bytes_sent, shard, static_cast<std::uint64_t>(sent));
                }
            } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
                count_drop(static_cast<int>(DatagramDropReason::send_buffer_full));
            } else if (errno == ECONNREFUSED) {
                refused();
                return;
            } else {
                count_drop(static_cast<int>(DatagramDropReason::send_error));
            }
            pos += f.consumed;
        }
        if (pos > 0) {
            std::memmove(in_.data.get(), in_.data.get() + pos, in_end_ - pos);
            in_end_ -= static_cast<std::uint32_t>(pos);
        }
        if (in_end_ == in_.size) {
            codec_error(CodecErrorReason::too_large, "frame larger than the largest UDP payload (65507 bytes)");
            return;
        }
        drained = static_cast<std::size_t>(n) < want;  // a short read emptied the socket
    }
    if (in_ && in_end_ == 0) loop_.buffers().release(std::move(in_));
    // Budget spent with bytes still queued (edge-triggered: no new edge for them): later.
    if (!drained) loop_.defer([self = BridgePtr(this)] {
        if (!self->closed_) self->read_client();
    });
}

void StreamToDatagramSession::read_upstream() {
    if (closed_ || out_end_ > out_begin_) return;  // the client has not taken the last reply yet
    const Codec& codec = *ctx_.client_codec;
    const std::size_t shard = loop_.index();
    const std::size_t head = codec.max_header();
    EndpointMetrics* em = ctx_.upstream->endpoint(static_cast<std::size_t>(endpoint_)).metrics;
    char reason[160];
    bool drained = false;
    for (int budget = kBudget; budget > 0 && !drained; --budget) {
        if (!out_) out_ = loop_.buffers().acquire(head + kMaxPayload + codec.max_trailer() + 1);
        std::uint8_t* payload = out_.data.get() + head;
        iovec iov{payload, kMaxPayload};
        msghdr h{};
        h.msg_iov = &iov;
        h.msg_iovlen = 1;
        ssize_t n = ::recvmsg(upstream_.fd, &h, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                drained = true;
                break;
            }
            if (errno == EINTR) continue;
            if (errno == ECONNREFUSED) {
                refused();
                return;
            }
            close();
            return;
        }
        last_activity_ = loop_.now();
        if (!answered_) {
            // The endpoint answers: passive health hears of it once per connection, not per datagram.
            answered_ = true;
            ctx_.upstream->report_success(static_cast<std::size_t>(endpoint_), UpstreamPool::Attempt::datagram);
        }
        if (em) {
            inc(em->datagrams_received, shard);
            inc(em->bytes_received, shard, static_cast<std::uint64_t>(n));
        }
        if (h.msg_flags & MSG_TRUNC) {
            count_drop(static_cast<int>(DatagramDropReason::oversize));
            continue;
        }
        // One datagram, one frame: the header lands right before the payload, the trailer right
        // after it, so the frame goes out in one piece without moving the payload.
        std::uint8_t header[64];
        std::size_t hl = 0, tl = 0;
        if (head > sizeof header ||
            !codec.encode(static_cast<std::size_t>(n), header, &hl, payload + n, &tl, reason, sizeof reason)) {
            count_drop(static_cast<int>(DatagramDropReason::codec_error));
            inc(ctx_.metrics.codec_errors[0][static_cast<int>(CodecErrorReason::encode_failed)], shard);
            continue;
        }
        std::memcpy(payload - hl, header, hl);
        out_begin_ = static_cast<std::uint32_t>(head - hl);
        out_end_ = static_cast<std::uint32_t>(head + static_cast<std::size_t>(n) + tl);
        inc(ctx_.metrics.frames_sent, shard);
        if (!flush_client()) return;  // resumes when the client can take more
    }
    if (out_ && out_end_ == out_begin_) loop_.buffers().release(std::move(out_));
    if (!drained) loop_.defer([self = BridgePtr(this)] { self->read_upstream(); });
}

void StreamToDatagramSession::refused() {
    count_drop(static_cast<int>(DatagramDropReason::upstream_refused));
    UpstreamPool& pool = *ctx_.upstream;
    auto& ep = pool.endpoint(static_cast<std::size_t>(endpoint_));
    pool.report_failure(static_cast<std::size_t>(endpoint_), UpstreamPool::Attempt::datagram);
    if (ep.metrics) inc(ep.metrics->connect_failures[static_cast<int>(ConnectFailureReason::refused)], loop_.index());
    std::uint64_t suppressed = 0;
    if (ctx_.error_log.allow(&suppressed))
        spdlog::warn("listener {}: upstream {} endpoint {} refused (ICMP port unreachable); closing the connection{}",
                     ctx_.options.name, pool.name(), ep.label,
                     suppressed ? fmt::format(" ({} similar messages suppressed)", suppressed) : "");
    close();
}

bool StreamToDatagramSession::flush_client() {
    while (out_end_ > out_begin_) {
        ssize_t n = ::send(client_.fd, out_.data.get() + out_begin_, out_end_ - out_begin_, MSG_NOSIGNAL);
        if (n > 0) {
            inc(ctx_.metrics.bytes_sent, loop_.index(), static_cast<std::uint64_t>(n));
            out_begin_ += static_cast<std::uint32_t>(n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;  // EPOLLOUT resumes
        if (n < 0 && errno == EINTR) continue;
        close();
        return false;
    }
    out_begin_ = out_end_ = 0;
    return true;
}

void StreamToDatagramSession::codec_error(CodecErrorReason reason, const char* text) {
    inc(ctx_.metrics.codec_errors[0][static_cast<int>(reason)], loop_.index());
    std::uint64_t suppressed = 0;
    if (ctx_.error_log.allow(&suppressed))
        spdlog::warn("listener {}: codec {}: {} frame from client: {}; closing the connection{}", ctx_.options.name,
                     ctx_.client_codec->name(), to_string(reason), text,
                     suppressed ? fmt::format(" ({} similar messages suppressed)", suppressed) : "");
    close();
}

void StreamToDatagramSession::check_idle(SteadyTime now) {
    auto limit = ctx_.options.idle_timeout;
    if (limit.count() <= 0 || closed_ || now - last_activity_ < limit) return;
    inc(ctx_.metrics.idle_timeouts, loop_.index());
    close();
}

void StreamToDatagramSession::force_close() { close(); }

void StreamToDatagramSession::close() {
    if (closed_) return;
    closed_ = true;
    for (Side* side : {&client_, &upstream_}) {
        if (side->fd >= 0) ::close(side->fd);  // also leaves the poller
        side->fd = -1;
    }
    if (in_) loop_.buffers().release(std::move(in_));
    if (out_) loop_.buffers().release(std::move(out_));
    if (endpoint_ >= 0)
        ctx_.upstream->endpoint(static_cast<std::size_t>(endpoint_)).active.fetch_sub(1, std::memory_order_relaxed);
    loop_.detach(this);
    loop_.add_load(-1);
    ctx_.active.fetch_sub(1, std::memory_order_relaxed);
    if (ctx_.metrics.connections_active) ctx_.metrics.connections_active->add(loop_.index(), -1);
    loop_.defer([self = BridgePtr(this, /*add_ref=*/false)] {});
}

}  // namespace switchyard
