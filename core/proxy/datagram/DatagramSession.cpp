#include "core/proxy/datagram/DatagramSession.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/smart_ptr/intrusive_ptr.hpp>
#include <cerrno>
#include <cstring>

#include "core/loop/EventLoop.hpp"
#include "core/metrics/Counter.hpp"
#include "core/metrics/Gauge.hpp"
#include "core/proxy/ListenerContext.hpp"
#include "core/proxy/UpstreamPool.hpp"
#include "core/proxy/datagram/DatagramAdmission.hpp"
#include "core/proxy/datagram/DatagramListenerLoop.hpp"
#include "core/proxy/datagram/DatagramLoopContext.hpp"

namespace switchyard {

using DatagramSessionPtr = boost::intrusive_ptr<DatagramSession>;

namespace {

inline void inc(metrics::Counter* c, std::size_t shard, std::uint64_t n = 1) {
    if (c) c->inc(shard, n);
}
inline void add(metrics::Gauge* g, std::size_t shard, std::int64_t d) {
    if (g) g->add(shard, d);
}

// recvmmsg calls per readiness before the loop's other work runs.
constexpr int kReadBudget = 4;

}  // namespace

DatagramSession* DatagramSession::open(DatagramListenerLoop& owner, DatagramLoopContext& gen,
                                       const DatagramPeer& client, const LocalAddress& local) {
    auto* s = new DatagramSession(owner, gen, client, local);
    intrusive_ptr_add_ref(s);  // the open session's reference on itself, dropped by close()
    if (!s->connect_endpoint()) {
        s->close();
        return nullptr;
    }
    inc(s->ctx_.datagram_metrics.sessions_total, s->loop_.index());  // opened: an endpoint took it
    return s;
}

DatagramSession::DatagramSession(DatagramListenerLoop& owner, DatagramLoopContext& gen, const DatagramPeer& client,
                                 const LocalAddress& local)
    : owner_(owner),
      loop_(owner.loop()),
      gen_(gen),
      ctx_(gen.ctx()),
      client_(client),
      local_(local),
      last_activity_(loop_.now()) {
    gen_.add_session();
    loop_.attach(this);
    loop_.add_load(1);
    add(ctx_.datagram_metrics.sessions_active, loop_.index(), 1);
}

bool DatagramSession::connect_endpoint() {
    UpstreamPool& pool = *ctx_.upstream;
    std::uint64_t tried = 0;
    int last_error = 0;
    for (std::uint32_t attempt = 0; attempt < pool.options().connect_attempts; ++attempt) {
        std::size_t idx = pool.pick(loop_.index(), client_.ip_hash(), tried);
        if (idx == UpstreamPool::kNone) {
            // when_all_down: reject (the pool has counted and logged the state): the datagram
            // is dropped and the client's next one tries again.
            inc(ctx_.metrics.rejected[static_cast<int>(RejectReason::no_healthy_endpoint)], loop_.index());
            std::uint64_t suppressed = 0;
            if (ctx_.error_log.allow(&suppressed))
                spdlog::warn("listener {}: client {}: no session: no healthy endpoint in upstream {} (when_all_down: "
                             "reject){}",
                             ctx_.options.name, client_.to_string(), pool.name(),
                             suppressed ? fmt::format(" ({} similar messages suppressed)", suppressed) : "");
            return false;
        }
        tried |= std::uint64_t{1} << (idx % 64);
        UpstreamEndpoint& ep = pool.endpoint(idx);
        const SocketAddress& addr = ep.resolved[attempt % ep.resolved.size()];
        if (ep.metrics && ep.metrics->connect_attempts) ep.metrics->connect_attempts->inc(loop_.index());
        int fd = ::socket(addr.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            last_error = errno;
            break;  // out of descriptors: another endpoint will not help
        }
        // A UDP connect only records the peer: it fails at once or not at all.
        if (::connect(fd, addr.data(), addr.length) != 0) {
            last_error = errno;
            ::close(fd);
            pool.report_failure(idx, UpstreamPool::Attempt::connect);
            if (ep.metrics && ep.metrics->connect_failures[static_cast<int>(ConnectFailureReason::other)])
                ep.metrics->connect_failures[static_cast<int>(ConnectFailureReason::other)]->inc(loop_.index());
            continue;
        }
        if (int err = loop_.poller().add(fd, this, EPOLLIN | EPOLLET)) {
            last_error = err;
            ::close(fd);
            break;
        }
        fd_ = fd;
        endpoint_ = static_cast<std::int32_t>(idx);
        ep.active.fetch_add(1, std::memory_order_relaxed);
        return true;
    }
    inc(ctx_.metrics.rejected[static_cast<int>(RejectReason::upstream_unavailable)], loop_.index());
    std::uint64_t suppressed = 0;
    if (ctx_.error_log.allow(&suppressed))
        spdlog::warn("listener {}: client {}: no session: upstream {}: {}{}", ctx_.options.name, client_.to_string(),
                     pool.name(), std::strerror(last_error),
                     suppressed ? fmt::format(" ({} similar messages suppressed)", suppressed) : "");
    return false;
}

void DatagramSession::from_client(const std::uint8_t* data, std::size_t len) {
    if (closed_) return;
    last_activity_ = loop_.now();
    ssize_t n;
    if (DatagramFramer* framer = gen_.to_upstream()) {
        // With a codec: only a datagram that frames is passed on, its frames re-encoded for
        // the upstream's codec (one datagram out for one in).
        int frames = framer->decode(data, len);
        iovec iov[DatagramFramer::kMaxIov];
        int pieces = frames < 0 ? -1 : framer->encode(data, len, iov);
        if (pieces < 0) {
            owner_.codec_error(gen_, framer->error() == CodecErrorReason::encode_failed ? 1 : 0, *framer, client_);
            return;
        }
        inc(ctx_.metrics.frames_received, loop_.index(), static_cast<std::uint64_t>(frames));
        msghdr h{};
        h.msg_iov = iov;
        h.msg_iovlen = static_cast<std::size_t>(pieces);
        n = ::sendmsg(fd_, &h, MSG_DONTWAIT);
    } else {
        n = ::send(fd_, data, len, MSG_DONTWAIT);
    }
    if (n >= 0) {
        if (auto* m = ctx_.upstream->endpoint(static_cast<std::size_t>(endpoint_)).metrics) {
            inc(m->datagrams_sent, loop_.index());
            inc(m->bytes_sent, loop_.index(), static_cast<std::uint64_t>(n));
        }
        if (ctx_.options.responses && *ctx_.options.responses == 0) close();  // nothing comes back
        return;
    }
    const int e = errno;
    if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) {
        owner_.count_drop(DatagramDropReason::send_buffer_full);
    } else if (e == ECONNREFUSED) {
        // An earlier datagram drew ICMP port unreachable: the endpoint has no listener there.
        refused();
    } else {
        owner_.count_drop(DatagramDropReason::send_error);
        std::uint64_t suppressed = 0;
        if (ctx_.error_log.allow(&suppressed))
            spdlog::warn("listener {}: client {}: send to upstream {}: {}", ctx_.options.name, client_.to_string(),
                         ctx_.upstream->endpoint(static_cast<std::size_t>(endpoint_)).label, std::strerror(e));
    }
}

void DatagramSession::on_poll_events(std::uint32_t) {
    if (closed_) return;
    DatagramSessionPtr keep(this);
    read_replies();
}

void DatagramSession::read_replies() {
    DatagramBatch& batch = owner_.replies();
    const std::size_t shard = loop_.index();
    EndpointMetrics* em = ctx_.upstream->endpoint(static_cast<std::size_t>(endpoint_)).metrics;
    const std::uint32_t limit = ctx_.options.responses.value_or(0);
    for (int budget = kReadBudget; budget > 0; --budget) {
        if (batch.room() == 0) owner_.flush_replies();
        const std::size_t first = batch.size();
        const std::size_t asked = batch.room();
        int n = batch.receive_connected(fd_, asked);
        if (n < 0) {
            const int e = errno;
            if (e == EAGAIN || e == EWOULDBLOCK) return;
            if (e == EINTR) continue;
            if (e == ECONNREFUSED) {
                refused();
                return;
            }
            spdlog::debug("listener {}: client {}: receive from upstream: {}", ctx_.options.name, client_.to_string(),
                          std::strerror(e));
            close();
            return;
        }
        last_activity_ = loop_.now();
        if (!answered_) {
            // The endpoint answers: passive health hears of it once per session (ending a
            // max_fails count or an ejection), never per datagram.
            answered_ = true;
            ctx_.upstream->report_success(static_cast<std::size_t>(endpoint_), UpstreamPool::Attempt::datagram);
        }
        std::uint64_t kept = 0;
        std::uint64_t bytes = 0;
        DatagramFramer* framer = gen_.to_client();
        for (std::size_t i = first; i < first + static_cast<std::size_t>(n); ++i) {
            if (batch.truncated(i)) {
                owner_.count_drop(DatagramDropReason::oversize);
                continue;
            }
            bytes += batch.length(i);
            if (framer) {
                int frames = framer->decode(batch.data(i), batch.length(i));
                iovec iov[DatagramFramer::kMaxIov];
                int pieces = frames < 0 ? -1 : framer->encode(batch.data(i), batch.length(i), iov);
                if (pieces < 0) {
                    owner_.codec_error(gen_, framer->error() == CodecErrorReason::encode_failed ? 0 : 1, *framer,
                                       client_);
                    continue;
                }
                inc(ctx_.metrics.frames_sent, shard, static_cast<std::uint64_t>(frames));
                if (!framer->passthrough()) {
                    // Re-encoded for the client's codec: sent now, from the pieces in place.
                    owner_.send_reply_now(client_, local_, iov, pieces);
                    if (limit && ++replies_ >= limit) break;
                    continue;
                }
            }
            batch.keep(i, client_, local_);
            ++kept;
            if (limit && ++replies_ >= limit) break;
        }
        if (em) {
            inc(em->datagrams_received, shard, static_cast<std::uint64_t>(n));
            inc(em->bytes_received, shard, bytes);
        }
        if (kept) owner_.replies_added();
        if (limit && replies_ >= limit) {
            close();  // `responses` replies came back: the exchange is over
            return;
        }
        // Fewer than asked: the socket's queue is empty, and a datagram arriving later raises
        // a fresh edge. Asking again would only say EAGAIN.
        if (static_cast<std::size_t>(n) < asked) return;
    }
    loop_.defer([self = DatagramSessionPtr(this)] {
        if (!self->closed_) self->read_replies();
    });
}

void DatagramSession::refused() {
    owner_.count_drop(DatagramDropReason::upstream_refused);
    UpstreamPool& pool = *ctx_.upstream;
    auto& ep = pool.endpoint(static_cast<std::size_t>(endpoint_));
    pool.report_failure(static_cast<std::size_t>(endpoint_), UpstreamPool::Attempt::datagram);
    if (ep.metrics && ep.metrics->connect_failures[static_cast<int>(ConnectFailureReason::refused)])
        ep.metrics->connect_failures[static_cast<int>(ConnectFailureReason::refused)]->inc(loop_.index());
    std::uint64_t suppressed = 0;
    if (ctx_.error_log.allow(&suppressed))
        spdlog::warn("listener {}: client {}: upstream {} endpoint {} refused (ICMP port unreachable); ending the "
                     "session{}",
                     ctx_.options.name, client_.to_string(), pool.name(), ep.label,
                     suppressed ? fmt::format(" ({} similar messages suppressed)", suppressed) : "");
    close();
}

void DatagramSession::check_idle(SteadyTime now) {
    auto limit = ctx_.options.idle_timeout;
    if (limit.count() <= 0 || closed_ || now - last_activity_ < limit) return;
    if (ctx_.metrics.idle_timeouts) ctx_.metrics.idle_timeouts->inc(loop_.index());
    spdlog::debug("listener {}: client {}: idle for {} ms, ending the session", ctx_.options.name,
                  client_.to_string(),
                  std::chrono::duration_cast<std::chrono::milliseconds>(now - last_activity_).count());
    close();
}

void DatagramSession::force_close() { close(); }

void DatagramSession::close() {
    if (closed_) return;
    closed_ = true;
    if (fd_ >= 0) ::close(fd_);  // also leaves the poller
    fd_ = -1;
    if (endpoint_ >= 0) ctx_.upstream->endpoint(static_cast<std::size_t>(endpoint_)).active.fetch_sub(1, std::memory_order_relaxed);
    owner_.forget(*this);
    gen_.remove_session();
    loop_.detach(this);
    loop_.add_load(-1);
    add(ctx_.datagram_metrics.sessions_active, loop_.index(), -1);
    DatagramAdmission::release(ctx_, client_);  // its per-IP slot and place in ctx.active
    // Drop the open session's reference only after the poll batch being dispatched.
    loop_.defer([self = DatagramSessionPtr(this, /*add_ref=*/false)] {});
}

}  // namespace switchyard
