#include "core/proxy/Session.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <boost/smart_ptr/intrusive_ptr.hpp>
#include <cerrno>
#include <cstring>

#include "core/codec/Codec.hpp"
#include "core/loop/EventLoop.hpp"
#include "core/metrics/Counter.hpp"
#include "core/metrics/Gauge.hpp"
#include "core/metrics/Histogram.hpp"
#include "core/net/ProxyHeader.hpp"
#include "core/proxy/Admission.hpp"
#include "core/proxy/ConnectFailure.hpp"
#include "core/proxy/ListenerContext.hpp"
#include "core/net/SocketAddress.hpp"
#include "core/proxy/UpstreamPool.hpp"

namespace switchyard {

using SessionPtr = boost::intrusive_ptr<Session>;

namespace {

// Frames encoded per scatter/gather write when translating framings (3 iovecs each:
// header, payload in the read buffer, trailer).
constexpr std::size_t kBatchFrames = 32;
constexpr std::size_t kIovPerFrame = 3;
// A frame never needs more buffer than this, whatever a plugin allows.
constexpr std::size_t kMaxBlock = 16 * 1024 * 1024;
// Reads/writes per wake-up before yielding to the loop's other connections.
constexpr int kPumpBudget = 16;

inline void inc(metrics::Counter* c, std::size_t shard, std::uint64_t n = 1) {
    if (c) c->inc(shard, n);
}
inline void add(metrics::Gauge* g, std::size_t shard, std::int64_t d) {
    if (g) g->add(shard, d);
}

bool would_block(int e) { return e == EAGAIN || e == EWOULDBLOCK; }

std::size_t scratch_for(const Codec* enc) {
    std::size_t headers = kBatchFrames * (enc->max_header() + enc->max_trailer());
    return kBatchFrames * kIovPerFrame * sizeof(iovec) + ((headers + 15) & ~std::size_t{15});
}

}  // namespace

void Session::start(EventLoop& loop, ListenerContext& ctx, int fd, const PeerAddress& client,
                    const PeerAddress& destination) {
    SessionPtr s(new Session(loop, ctx, fd, client));
    s->destination_ = destination;
    intrusive_ptr_add_ref(s.get());  // the open session's reference on itself, dropped by close()
    if (int err = loop.poller().add(fd, &s->sides_[0])) {
        spdlog::error("listener {}: {}: cannot watch the accepted socket: {}", ctx.options.name, s->side_text(0),
                      std::strerror(err));
        s->close();
    } else if (s->echo()) {
        s->start_relay();
    } else {
        s->connect_next();
    }
}

Session::Session(EventLoop& loop, ListenerContext& ctx, int fd, const PeerAddress& client)
    : loop_(loop),
      ctx_(ctx),
      upstream_pool_(ctx.upstream),
      connect_timer_(loop.timers(), [this] { on_connect_timeout(); }),
      client_(client),
      last_activity_(loop.now()) {
    for (int i = 0; i < 2; ++i) {
        sides_[i].session = this;
        sides_[i].index = static_cast<std::uint8_t>(i);
    }
    sides_[0].fd = fd;
    if (client.family() != AF_UNIX) {
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    loop_.attach(this);
    inc(ctx_.metrics.connections_total, loop_.index());
    add(ctx_.metrics.connections_active, loop_.index(), 1);
    if (echo()) dirs_[1].done = true;  // echo has a single direction: client -> client
    for (auto& dir : dirs_) dir.raw_cap = static_cast<std::uint32_t>(ctx_.block_size);
}

Session::~Session() = default;

const Codec* Session::decoder(int d) const {
    return d == 0 ? ctx_.client_codec.get() : ctx_.upstream_codec.get();
}

const Codec* Session::encoder(int d) const {
    if (echo()) return ctx_.client_codec.get();
    return d == 0 ? ctx_.upstream_codec.get() : ctx_.client_codec.get();
}

bool Session::translating() const { return !ctx_.passthrough; }

// ---- connecting ---------------------------------------------------------------------------

void Session::on_side_events(int side, std::uint32_t events) {
    if (closed_) return;
    SessionPtr keep(this);
    if (side == 1 && connecting_) {
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) finish_connect();
        return;
    }
    Side& s = sides_[side];
    // Edge-triggered: a FIN that arrived with the last data raises no further edge, so it must
    // be remembered here and read to the end (the short-read shortcut no longer applies).
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) s.hung_up = true;
    if (connecting_) {
        // The client, while its upstream connection is being made: a FIN (and what came before
        // it) waits for the relay to start; a reset ends the attempt now, not at connect_timeout.
        if (events & EPOLLERR) abort_if_reset(side);
        return;
    }
    // Writability first: a direction blocked on a full destination resumes and may free the
    // buffer the other direction is about to need.
    if (s.want_write && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        s.want_write = false;
        pump(side == 1 ? 0 : (echo() ? 0 : 1));
    }
    if (!closed_ && s.want_read && (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP))) {
        s.want_read = false;
        pump(side);
    }
    // A reset on a socket that no direction is waiting on now (its reader paused because the
    // other side is full, nothing being written to it) would go unseen until the other side
    // moves, which may be never: look at it now. (A direction that did touch the socket has
    // already taken the error and closed the session.)
    if (!closed_ && (events & EPOLLERR)) abort_if_reset(side);
}

void Session::abort_if_reset(int side) {
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(sides_[side].fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err == 0) return;
    reset_by(side, err);
}

// The peer on `side` aborted (a reset, or an error that broke the connection): abort the other
// side too, with SO_LINGER 0 so its close sends a reset rather than a FIN, as a direct
// connection would have shown it. What was in flight towards either peer is discarded, as a
// reset discards it. (A unix socket has no reset: its peer sees a plain close.)
void Session::reset_by(int side, int error) {
    inc(ctx_.metrics.resets[side], loop_.index());
    const int other = side == 0 ? 1 : 0;
    if (!echo() && sides_[other].fd >= 0) {
        linger abort_on_close{1, 0};
        ::setsockopt(sides_[other].fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
    }
    spdlog::debug("listener {}: {}: {}; resetting the other side", ctx_.options.name, side_text(side),
                  std::strerror(error));
    close();
}

void Session::connect_next() {
    if (closed_) return;
    auto& pool = *upstream_pool_;
    std::size_t idx = pool.pick(loop_.index(), client_.ip_hash(), tried_);
    if (idx == UpstreamPool::kNone) {
        // when_all_down: reject (the pool has counted and logged the state).
        inc(ctx_.metrics.rejected[static_cast<int>(RejectReason::no_healthy_endpoint)], loop_.index());
        std::string note;
        if (ctx_.logs.allow(ListenerEvent::upstream_unavailable, &note))
            spdlog::warn("listener {}: {}: no healthy endpoint in upstream {} (when_all_down: reject); closing the "
                         "client{}",
                         ctx_.options.name, side_text(0), pool.name(), note);
        close();
        return;
    }
    tried_ |= std::uint64_t{1} << (idx % 64);
    endpoint_ = static_cast<std::int32_t>(idx);
    auto& ep = pool.endpoint(idx);
    resolved_ = static_cast<std::uint16_t>(attempts_ % ep.resolved.size());
    const SocketAddress& addr = ep.resolved[resolved_];
    ++attempts_;
    ep.active.fetch_add(1, std::memory_order_relaxed);
    if (ep.metrics) inc(ep.metrics->connect_attempts, loop_.index());

    connecting_ = true;
    connect_timed_out_ = false;
    connect_started_ = std::chrono::steady_clock::now();
    int fd = ::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        on_connected(errno);
        return;
    }
    sides_[1].fd = fd;
    if (addr.family() != AF_UNIX) {
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    if (int err = loop_.poller().add(fd, &sides_[1])) {
        on_connected(err);
        return;
    }
    if (::connect(fd, addr.data(), addr.length) == 0) {
        on_connected(0);  // loopback and unix sockets often connect at once
        return;
    }
    if (errno != EINPROGRESS) {
        // A unix socket whose backlog is full says EAGAIN instead of waiting.
        on_connected(errno);
        return;
    }
    connect_timer_.arm_after(pool.options().connect_timeout);
}

void Session::on_connect_timeout() {
    if (!connecting_ || closed_) return;
    SessionPtr keep(this);
    connect_timed_out_ = true;
    on_connected(ETIMEDOUT);
}

void Session::finish_connect() {
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(sides_[1].fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    on_connected(err);
}

void Session::on_connected(int error) {
    connecting_ = false;
    connect_timer_.cancel();
    if (closed_) return;
    auto& pool = *upstream_pool_;
    auto& ep = pool.endpoint(static_cast<std::size_t>(endpoint_));
    if (error == 0) {
        pool.report_success(static_cast<std::size_t>(endpoint_), UpstreamPool::Attempt::connect);
        if (ep.metrics) {
            add(ep.metrics->connections_active, loop_.index(), 1);
            if (ep.metrics->connect_duration)
                ep.metrics->connect_duration->observe(
                    loop_.index(),
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - connect_started_).count());
        }
        if (pool.options().send_proxy != SendProxy::off && !send_proxy_header()) {
            close();
            return;
        }
        start_relay();
        return;
    }
    const ConnectFailureReason reason = connect_failure_reason(error, connect_timed_out_);
    std::string message = connect_timed_out_ ? std::string("connect timeout") : std::string(std::strerror(error));
    ep.active.fetch_sub(1, std::memory_order_relaxed);
    if (ep.metrics) inc(ep.metrics->connect_failures[static_cast<int>(reason)], loop_.index());
    pool.report_failure(static_cast<std::size_t>(endpoint_), UpstreamPool::Attempt::connect);
    const std::string upstream = side_text(1);
    spdlog::debug("listener {}: {}: connect attempt {} failed: {}", ctx_.options.name, upstream, attempts_, message);
    if (sides_[1].fd >= 0) {
        ::close(sides_[1].fd);  // also leaves the poller
        sides_[1].fd = -1;
    }
    endpoint_ = -1;
    if (attempts_ < pool.options().connect_attempts) {
        connect_next();
        return;
    }
    inc(ctx_.metrics.rejected[static_cast<int>(RejectReason::upstream_unavailable)], loop_.index());
    std::string note;
    if (ctx_.logs.allow(ListenerEvent::upstream_unavailable, &note))
        spdlog::warn("listener {}: {}: connect failed: {}; upstream {} unavailable after {} connect attempt(s), "
                     "closing the client{}",
                     ctx_.options.name, upstream, message, pool.name(), attempts_, note);
    close();
}

// The upstream expects a PROXY protocol header before anything else: the client (its real
// address when a balancer in front named it) and the address it connected to. A connection
// just established has an empty send buffer, and a header (at most 107 bytes) always fits in
// it, so it goes in one send; anything less is a broken connection.
bool Session::send_proxy_header() {
    PeerAddress destination = destination_;
    if (destination.family() == AF_UNSPEC) {
        SocketAddress local;
        local.length = sizeof local.storage;
        if (::getsockname(sides_[0].fd, local.data(), &local.length) == 0)
            destination = PeerAddress::from(local.data(), local.length);
    }
    std::uint8_t header[ProxyHeaderParser::kMaxV1Length + 1];
    static_assert(sizeof header >= kMaxV2WriteLength);
    const std::size_t length = upstream_pool_->options().send_proxy == SendProxy::v1
                                   ? write_proxy_header_v1(client_, destination, reinterpret_cast<char*>(header))
                                   : write_proxy_header_v2(client_, destination, header);
    const ssize_t n = ::send(sides_[1].fd, header, length, MSG_NOSIGNAL);
    if (n > 0) count_written(0, static_cast<std::size_t>(n));
    if (n == static_cast<ssize_t>(length)) return true;
    spdlog::warn("listener {}: {}: could not send the PROXY protocol header: {}; closing the client",
                 ctx_.options.name, side_text(1), n < 0 ? std::strerror(errno) : "short write");
    return false;
}

// ---- relaying -------------------------------------------------------------------------------

void Session::start_relay() {
    pump(0);
    if (!echo() && !closed_) pump(1);
}

void Session::pump(int d) {
    Direction& dir = dirs_[d];
    // A read that returned less than it asked for emptied the socket's receive queue: reading
    // again would only say EAGAIN. Skip that syscall and wait; any byte arriving later raises
    // a fresh edge-triggered event (nginx and HAProxy save the same syscall).
    bool source_drained = false;
    for (int budget = kPumpBudget; budget > 0; --budget) {
        if (closed_ || dir.done) return;
        if (has_output(dir)) {
            Step s = flush(d);
            if (s == Step::blocked) {
                // The source is not read while its destination is full: a frame it could not
                // finish meanwhile gets a fresh frame_timeout once the way is clear.
                dir.frame_started = {};
                wait_writable(d);
                return;
            }
            if (s == Step::failed) {
                reset_by(destination_side(d), last_error_);  // the destination refused what we wrote
                return;
            }
            if (dir.parse_pos == dir.read_end) {
                dir.parse_pos = dir.read_end = 0;
                resize_empty_block(d);
            }
        }
        if (framed(d) && dir.parse_pos < dir.read_end) {
            Step s = produce(d);
            if (s == Step::failed) return;  // produce closed the session
            if (s == Step::progressed) continue;
        }
        if (dir.eof) {
            count_truncated_frame(d);
            finish_direction(d);
            return;
        }
        Step s = source_drained ? Step::blocked : read(d, &source_drained);
        if (s == Step::blocked) {
            release_block_if_empty(d);
            wait_readable(d);
            return;
        }
        if (s == Step::failed) {
            count_truncated_frame(d);  // a reset ends the stream too
            reset_by(source_side(d), last_error_);
            return;
        }
        if (s == Step::progressed && !framed(d)) {
            dir.out_begin = dir.parse_pos;
            dir.out_end = dir.read_end;
            dir.parse_pos = dir.read_end;
        }
    }
    // Budget spent with work left: let the loop's other connections run first.
    loop_.defer([self = SessionPtr(this), d] { self->pump(d); });
}

bool Session::ensure_block(int d) {
    Direction& dir = dirs_[d];
    if (dir.block) return true;
    std::size_t scratch = framed(d) && translating() ? scratch_for(encoder(d)) : 0;
    std::size_t data = framed(d) ? ctx_.block_size : dir.raw_cap;
    dir.block = loop_.buffers().acquire(data + scratch);
    dir.data_cap = static_cast<std::uint32_t>(data);
    dir.read_end = dir.parse_pos = dir.out_begin = dir.out_end = 0;
    return true;
}

// Raw mode sizes each direction's buffer to its traffic, like Netty's adaptive receive buffer:
// a read that fills a whole empty buffer means more was waiting, so the next buffer is twice
// as large (up to max_buffer_size); a read that uses less than a quarter of it halves it again
// (down to buffer_size). A bulk transfer then moves 64 KiB per syscall pair instead of 16 KiB,
// while request/response traffic never grows.
void Session::adapt_raw_capacity(int d, std::size_t read, std::size_t asked) {
    Direction& dir = dirs_[d];
    if (framed(d) || asked != dir.data_cap) return;  // only reads into an empty buffer say anything
    std::size_t cap = dir.raw_cap;
    if (read == asked) cap = std::min(cap * 2, ctx_.max_raw_block_size);
    else if (read < asked / 4) cap = std::max(cap / 2, ctx_.block_size);
    dir.raw_cap = static_cast<std::uint32_t>(cap);
}

// An emptied buffer of the wrong size goes back to the pool; the next read borrows the right one.
void Session::resize_empty_block(int d) {
    Direction& dir = dirs_[d];
    if (!framed(d) && dir.block && dir.data_cap != dir.raw_cap) loop_.buffers().release(std::move(dir.block));
}

// Makes room to read when the data area is full: slide a partial frame to the front, or grow
// the block when the partial frame fills it (a frame larger than buffer_size).
bool Session::make_room(int d) {
    Direction& dir = dirs_[d];
    std::size_t scratch = dir.block.size - dir.data_cap;
    std::uint8_t* data = dir.block.data.get() + scratch;
    if (dir.parse_pos > 0) {
        std::size_t keep = dir.read_end - dir.parse_pos;
        std::memmove(data, data + dir.parse_pos, keep);
        dir.read_end = static_cast<std::uint32_t>(keep);
        dir.parse_pos = 0;
        return true;
    }
    std::size_t new_cap = std::size_t{dir.data_cap} * 2;
    if (new_cap > kMaxBlock) {
        codec_error(d, CodecErrorReason::too_large, "frame exceeds the 16 MiB relay buffer limit");
        return false;
    }
    BufferPool::Block bigger = loop_.buffers().acquire(new_cap + scratch);
    std::memcpy(bigger.data.get() + scratch, data, dir.read_end);
    loop_.buffers().release(std::move(dir.block));
    dir.block = std::move(bigger);
    dir.data_cap = static_cast<std::uint32_t>(new_cap);
    return true;
}

Session::Step Session::read(int d, bool* drained) {
    Direction& dir = dirs_[d];
    ensure_block(d);
    if (dir.read_end == dir.data_cap && !make_room(d)) return Step::finished;
    std::size_t scratch = dir.block.size - dir.data_cap;
    std::uint8_t* data = dir.block.data.get() + scratch;
    const std::size_t want = dir.data_cap - dir.read_end;
    ssize_t n = ::recv(source(d), data + dir.read_end, want, 0);
    if (n > 0) {
        last_activity_ = loop_.now();
        *drained = static_cast<std::size_t>(n) < want && !sides_[source_side(d)].hung_up;
        adapt_raw_capacity(d, static_cast<std::size_t>(n), want);
        dir.read_end += static_cast<std::uint32_t>(n);
        count_read(d, static_cast<std::size_t>(n));
        return Step::progressed;
    }
    if (n == 0) {
        dir.eof = true;
        return Step::finished;
    }
    if (would_block(errno)) return Step::blocked;
    if (errno == EINTR) return Step::progressed;
    last_error_ = errno;
    return Step::failed;
}

// Decodes whole frames from [parse_pos, read_end) and queues them for output.
Session::Step Session::produce(int d) {
    Direction& dir = dirs_[d];
    const Codec* dec = decoder(d);
    const Codec* enc = encoder(d);
    std::size_t scratch = dir.block.size - dir.data_cap;
    std::uint8_t* base = dir.block.data.get();
    std::uint8_t* data = base + scratch;
    const bool translate = translating();
    iovec* iov = reinterpret_cast<iovec*>(base);
    std::uint8_t* headers = base + kBatchFrames * kIovPerFrame * sizeof(iovec);
    const std::size_t header_stride = translate ? enc->max_header() + enc->max_trailer() : 0;
    char reason[160];
    std::size_t frames = 0;
    std::uint32_t start = dir.parse_pos;
    while (dir.parse_pos < dir.read_end && (!translate || frames < kBatchFrames)) {
        DecodedFrame f = dec->decode(data + dir.parse_pos, dir.read_end - dir.parse_pos, &dir.stream_state, reason,
                                     sizeof reason);
        if (f.status == DecodeStatus::need_more) break;
        if (f.status != DecodeStatus::frame) {
            codec_error(d, f.status == DecodeStatus::too_large ? CodecErrorReason::too_large
                                                                : CodecErrorReason::malformed,
                        reason);
            return Step::failed;
        }
        dir.stream_state = 0;
        if (translate) {
            std::uint8_t* h = headers + frames * header_stride;
            std::uint8_t* t = h + enc->max_header();
            std::size_t hl = 0, tl = 0;
            if (!enc->encode(f.payload_length, h, &hl, t, &tl, reason, sizeof reason)) {
                codec_error(d, CodecErrorReason::encode_failed, reason);
                return Step::failed;
            }
            iovec* v = iov + dir.iov_count;
            int k = 0;
            if (hl) v[k++] = iovec{h, hl};
            if (f.payload_length) v[k++] = iovec{data + dir.parse_pos + f.payload_offset, f.payload_length};
            if (tl) v[k++] = iovec{t, tl};
            dir.iov_count = static_cast<std::uint16_t>(dir.iov_count + k);
        }
        dir.parse_pos += static_cast<std::uint32_t>(f.consumed);
        ++frames;
    }
    // A partial frame is left: its clock starts with its first byte, which arrived in this
    // turn's read if a frame ended before it, or earlier if it was already waiting.
    if (dir.parse_pos == dir.read_end) dir.frame_started = {};
    else if (frames > 0 || dir.frame_started == SteadyTime{}) dir.frame_started = loop_.now();
    if (frames == 0) return Step::blocked;  // need more input
    if (!translate) {
        dir.out_begin = start;
        dir.out_end = dir.parse_pos;
    }
    if (d == 0) inc(ctx_.metrics.frames_received, loop_.index(), frames);
    if (d == 1 || echo()) inc(ctx_.metrics.frames_sent, loop_.index(), frames);
    return Step::progressed;
}

Session::Step Session::flush(int d) {
    Direction& dir = dirs_[d];
    int fd = destination(d);
    ssize_t n;
    if (dir.iov_count > 0) {
        iovec* iov = reinterpret_cast<iovec*>(dir.block.data.get()) + dir.iov_head;
        msghdr msg{};
        msg.msg_iov = iov;
        msg.msg_iovlen = dir.iov_count;
        n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
        if (n > 0) {
            count_written(d, static_cast<std::size_t>(n));
            std::size_t left = static_cast<std::size_t>(n);
            while (dir.iov_count > 0 && left >= iov->iov_len) {
                left -= iov->iov_len;
                ++iov;
                ++dir.iov_head;
                --dir.iov_count;
            }
            if (dir.iov_count > 0) {
                iov->iov_base = static_cast<std::uint8_t*>(iov->iov_base) + left;
                iov->iov_len -= left;
                return Step::blocked;
            }
            dir.iov_head = 0;
            return Step::progressed;
        }
    } else {
        std::size_t scratch = dir.block.size - dir.data_cap;
        std::uint8_t* data = dir.block.data.get() + scratch;
        n = ::send(fd, data + dir.out_begin, dir.out_end - dir.out_begin, MSG_NOSIGNAL);
        if (n > 0) {
            count_written(d, static_cast<std::size_t>(n));
            dir.out_begin += static_cast<std::uint32_t>(n);
            if (dir.out_begin < dir.out_end) return Step::blocked;
            dir.out_begin = dir.out_end = 0;
            return Step::progressed;
        }
    }
    if (n < 0 && (would_block(errno) || errno == EINTR)) return Step::blocked;
    last_error_ = n < 0 ? errno : EIO;
    return Step::failed;
}

void Session::finish_direction(int d) {
    Direction& dir = dirs_[d];
    dir.done = true;
    if (dir.block) {
        loop_.buffers().release(std::move(dir.block));
        dir.read_end = dir.parse_pos = 0;
    }
    // Propagate the half-close: the destination learns no more bytes will come this way.
    ::shutdown(destination(d), SHUT_WR);
    if (dirs_[0].done && dirs_[1].done) close();
}

void Session::release_block_if_empty(int d) {
    Direction& dir = dirs_[d];
    if (dir.block && dir.read_end == 0 && !has_output(dir)) loop_.buffers().release(std::move(dir.block));
}

// Waiting costs nothing: the socket stays registered (edge-triggered); the next edge on it
// resumes the direction through on_side_events.
void Session::wait_readable(int d) { sides_[source_side(d)].want_read = true; }

void Session::wait_writable(int d) { sides_[destination_side(d)].want_write = true; }

void Session::count_read(int d, std::size_t n) {
    const std::size_t shard = loop_.index();
    if (d == 0) {
        inc(ctx_.metrics.bytes_received, shard, n);
    } else if (endpoint_ >= 0) {
        if (auto* m = upstream_pool_->endpoint(static_cast<std::size_t>(endpoint_)).metrics)
            inc(m->bytes_received, shard, n);
    }
}

void Session::count_written(int d, std::size_t n) {
    const std::size_t shard = loop_.index();
    if (d == 1 || echo()) {
        inc(ctx_.metrics.bytes_sent, shard, n);
    } else if (endpoint_ >= 0) {
        if (auto* m = upstream_pool_->endpoint(static_cast<std::size_t>(endpoint_)).metrics)
            inc(m->bytes_sent, shard, n);
    }
}

void Session::codec_error(int d, CodecErrorReason reason, const char* text) {
    // Which side's codec failed (the metric's `side` and the address logged): decoding reads
    // the source's framing, encoding writes the destination's. Echo has only the client side.
    if (reason != CodecErrorReason::encode_failed) {
        report_codec_error(source_side(d), decoder(d), reason, fmt::format("{}; closing the connection", text));
    } else {
        report_codec_error(destination_side(d), encoder(d), reason,
                           fmt::format("a frame from the {} cannot be written in this framing: {}; closing the "
                                       "connection",
                                       d == 0 ? "client" : "upstream", text));
    }
    close();
}

// The source's stream ended (FIN or reset) with part of a frame read. That part can never be
// relayed as a frame: count and log it rather than let it vanish without a trace. The
// connection itself ends as it would have.
void Session::count_truncated_frame(int d) {
    const Direction& dir = dirs_[d];
    if (!framed(d) || dir.read_end <= dir.parse_pos) return;
    report_codec_error(source_side(d), decoder(d), CodecErrorReason::truncated,
                       fmt::format("the stream ended inside a frame; its {} byte(s) were dropped",
                                   dir.read_end - dir.parse_pos));
}

// Every frame problem is counted against the side whose codec saw it and logged (rate-limited):
//   listener L: <side and address>: codec C: <reason>: <what happened>
void Session::report_codec_error(int side, const Codec* codec, CodecErrorReason reason, std::string_view what) {
    inc(ctx_.metrics.codec_errors[side][static_cast<int>(reason)], loop_.index());
    std::string note;
    if (ctx_.logs.allow(ListenerEvent::codec_error, &note))
        spdlog::warn("listener {}: {}: codec {}: {}: {}{}", ctx_.options.name, side_text(side),
                     codec ? codec->name() : std::string("?"), to_string(reason), what, note);
}

// ---- housekeeping ---------------------------------------------------------------------------

// A partial frame held longer than frame_timeout while waiting for its source (a line codec
// in front of a protocol that is not line-based would otherwise hold its bytes forever):
// counted, logged, and the connection closed.
bool Session::frame_timed_out(int d, SteadyTime now) {
    const Direction& dir = dirs_[d];
    const Duration limit = ctx_.options.frame_timeout;
    if (limit.count() <= 0 || dir.done || dir.frame_started == SteadyTime{} || has_output(dir)) return false;
    if (now - dir.frame_started < limit) return false;
    report_codec_error(source_side(d), decoder(d), CodecErrorReason::frame_timeout,
                       fmt::format("a frame begun {} ms ago is still incomplete after {} byte(s) (frame_timeout "
                                   "{} ms); closing the connection",
                                   std::chrono::duration_cast<std::chrono::milliseconds>(now - dir.frame_started)
                                       .count(),
                                   dir.read_end - dir.parse_pos, limit.count()));
    close();
    return true;
}

void Session::check_idle(SteadyTime now) {
    if (closed_ || connecting_) return;
    for (int d = 0; d < 2; ++d)
        if (framed(d) && frame_timed_out(d, now)) return;
    auto limit = ctx_.options.idle_timeout;
    if (limit.count() <= 0) return;
    if (now - last_activity_ < limit) return;
    inc(ctx_.metrics.idle_timeouts, loop_.index());
    // At info: otherwise the client sees a close nobody can explain.
    std::string note;
    if (ctx_.logs.allow(ListenerEvent::idle_timeout, &note))
        spdlog::info("listener {}: {}: no traffic for {} ms (idle_timeout); closing the connection{}",
                     ctx_.options.name, side_text(echo() ? 0 : 1),
                     std::chrono::duration_cast<std::chrono::milliseconds>(now - last_activity_).count(), note);
    close();
}

void Session::force_close() { close(); }

std::string Session::side_text(int side) const {
    std::string client = "client " + client_.to_string();
    if (side == 0 || echo() || endpoint_ < 0) return client;
    const UpstreamEndpoint& ep = upstream_pool_->endpoint(static_cast<std::size_t>(endpoint_));
    std::string address = ep.resolved[resolved_].to_string();
    if (address != ep.label) address = ep.label + " (" + address + ")";  // a host name and what it resolved to
    return "upstream " + upstream_pool_->name() + " " + address + " for " + client;
}

void Session::close() {
    if (closed_) return;
    closed_ = true;
    for (auto& side : sides_) {
        if (side.fd >= 0) ::close(side.fd);  // closing also removes it from the poller
        side.fd = -1;
    }
    connect_timer_.cancel();
    for (auto& dir : dirs_)
        if (dir.block) loop_.buffers().release(std::move(dir.block));
    if (endpoint_ >= 0) {
        auto& ep = upstream_pool_->endpoint(static_cast<std::size_t>(endpoint_));
        ep.active.fetch_sub(1, std::memory_order_relaxed);
        if (ep.metrics && !connecting_) add(ep.metrics->connections_active, loop_.index(), -1);
        endpoint_ = -1;
    }
    loop_.detach(this);
    loop_.add_load(-1);
    add(ctx_.metrics.connections_active, loop_.index(), -1);
    // Last: once a retired generation's count reaches 0 the runtime may free this context.
    Admission::release(ctx_, client_, /*per_ip_taken=*/true);
    // Drop the open session's reference on itself only after the poll batch being dispatched:
    // later events of this batch may still name this session's sides.
    loop_.defer([self = SessionPtr(this, /*add_ref=*/false)] {});
}

}  // namespace switchyard
