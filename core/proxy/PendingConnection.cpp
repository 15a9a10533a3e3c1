#include "core/proxy/PendingConnection.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/loop/EventLoop.hpp"
#include "core/loop/LoopGroup.hpp"
#include "core/net/ProxyHeader.hpp"
#include "core/proxy/Admission.hpp"
#include "core/proxy/ListenerContext.hpp"
#include "core/proxy/Session.hpp"

namespace switchyard {
namespace {

// Byte for byte: PeerAddress zeroes every byte of its union (see PeerAddress.hpp).
bool same_address(const PeerAddress& a, const PeerAddress& b) {
    return std::memcmp(a.addr.bytes, b.addr.bytes, sizeof a.addr.bytes) == 0;
}

bool would_block(int e) { return e == EAGAIN || e == EWOULDBLOCK || e == EINTR; }

}  // namespace

void PendingConnection::start(EventLoop& loop, LoopGroup& loops, ListenerContext& ctx, int fd,
                              const PeerAddress& peer) {
    auto* p = new PendingConnection(loop, loops, ctx, fd, peer);
    if (int err = loop.poller().add(fd, p, EPOLLIN | EPOLLRDHUP | EPOLLET)) {
        spdlog::error("listener {}: client {}: cannot watch the accepted socket: {}", ctx.options.name, p->who(),
                      std::strerror(err));
        p->close_quietly("not watched");
        return;
    }
    // Whatever arrived before the watch is read now (the watch reports it too; reading twice is
    // harmless, missing it would wait for the deadline).
    if (ctx.options.proxy_protocol == ProxyProtocolMode::accept) {
        p->deadline_.arm_after(ctx.options.proxy_protocol_timeout);
        p->read_header();
    } else {
        p->enter_first_byte_phase();
    }
}

PendingConnection::PendingConnection(EventLoop& loop, LoopGroup& loops, ListenerContext& ctx, int fd,
                                     const PeerAddress& peer)
    : loop_(loop),
      loops_(loops),
      ctx_(ctx),
      deadline_(loop.timers(), [this] { on_deadline(); }),
      peer_(peer),
      client_(peer),
      fd_(fd),
      // Without a header to read, the listener took the per-IP slot when it accepted.
      per_ip_taken_(ctx.options.proxy_protocol != ProxyProtocolMode::accept) {
    loop_.attach(this);
}

PendingConnection::~PendingConnection() {
    if (fd_ < 0) return;
    // Dropped with the loops (shutdown) before its session could start.
    ::close(fd_);
    Admission::release(ctx_, client_, per_ip_taken_);
}

std::string PendingConnection::who() const {
    if (same_address(client_, peer_)) return client_.to_string();
    return client_.to_string() + " (via " + peer_.to_string() + ")";
}

void PendingConnection::on_poll_events(std::uint32_t events) {
    if (phase_ == Phase::done) return;
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) hung_up_ = true;
    if (phase_ == Phase::header)
        read_header();
    else
        wait_first_byte();
}

void PendingConnection::read_header() {
    std::uint8_t bytes[ProxyHeaderParser::kPeekSize];
    const ssize_t n = ::recv(fd_, bytes, sizeof bytes, MSG_PEEK);
    if (n < 0) {
        if (!would_block(errno)) close_quietly(std::strerror(errno));
        return;
    }
    // A balancer's plain TCP health check connects and closes without a byte: not an error.
    if (n == 0) return close_quietly("closed before sending anything");
    ProxyHeader header;
    const auto result = ProxyHeaderParser::parse(bytes, static_cast<std::size_t>(n), &header);
    if (result.status == ProxyHeaderParser::Status::invalid)
        return refuse(RejectReason::proxy_protocol_invalid,
                      fmt::format("invalid PROXY protocol header: {}; closing", result.error));
    if (result.status == ProxyHeaderParser::Status::need_more) {
        if (hung_up_)
            refuse(RejectReason::proxy_protocol_invalid,
                   fmt::format("the connection ended inside its PROXY protocol header ({} byte(s)); closing", n));
        return;
    }
    // The header is consumed; what follows it stays queued for the session.
    if (::recv(fd_, bytes, result.length, 0) != static_cast<ssize_t>(result.length))
        return close_quietly("the PROXY protocol header could not be consumed");
    if (!header.local) {
        client_ = header.source;
        destination_ = header.destination;
    }
    spdlog::debug("listener {}: client {}: PROXY protocol v{} header{}", ctx_.options.name, who(), header.version,
                  header.local ? " without a client address (LOCAL or UNKNOWN)" : "");
    std::string detail;
    if (auto reason = Admission::check_client(ctx_, client_, &detail)) return refuse(*reason, detail);
    per_ip_taken_ = true;
    if (ctx_.options.first_byte_timeout.count() > 0 && static_cast<std::size_t>(n) == result.length)
        enter_first_byte_phase();
    else
        hand_over();
}

void PendingConnection::enter_first_byte_phase() {
    phase_ = Phase::first_byte;
    deadline_.arm_after(ctx_.options.first_byte_timeout);
    wait_first_byte();
}

void PendingConnection::wait_first_byte() {
    std::uint8_t byte;
    const ssize_t n = ::recv(fd_, &byte, 1, MSG_PEEK);
    if (n > 0) return hand_over();
    if (n == 0) return close_quietly("closed without sending anything");
    if (!would_block(errno)) close_quietly(std::strerror(errno));
}

void PendingConnection::on_deadline() {
    if (phase_ == Phase::header) {
        refuse(RejectReason::proxy_protocol_timeout,
               fmt::format("no complete PROXY protocol header within {} ms (proxy_protocol_timeout); closing",
                           ctx_.options.proxy_protocol_timeout.count()));
    } else if (phase_ == Phase::first_byte) {
        refuse(RejectReason::first_byte_timeout,
               fmt::format("sent nothing within {} ms (first_byte_timeout); closing",
                           ctx_.options.first_byte_timeout.count()));
    }
}

void PendingConnection::hand_over() {
    phase_ = Phase::done;
    deadline_.cancel();
    loop_.poller().remove(fd_);
    loop_.detach(this);
    EventLoop& target = loops_.at(ctx_.loop_balancer->pick(client_.ip_hash()));
    target.add_load(1);
    // After this poll batch, which may still name this object, the session starts on its loop,
    // which then owns the socket and the counts this object held.
    loop_.defer([this, &target] {
        std::unique_ptr<PendingConnection> self(this);
        auto start_session = [&target](PendingConnection& p) {
            const int fd = p.fd_;
            p.fd_ = -1;
            // A relayed session also takes the destination a PROXY header named (for send_proxy);
            // other kinds (the stream-to-UDP bridge) start through the context's starter.
            if (p.ctx_.start_session == &start_stream_session) {
                Session::start(target, p.ctx_, fd, p.client_, p.destination_);
            } else {
                p.ctx_.start_session(target, p.ctx_, fd, p.client_);
            }
        };
        if (&target == &loop_) {
            start_session(*self);
            return;
        }
        target.post([self = std::move(self), start_session] { start_session(*self); });
    });
}

void PendingConnection::refuse(RejectReason reason, const std::string& detail) {
    Admission::count_refusal(loop_, ctx_, reason, who(), detail);
    ::close(fd_);
    fd_ = -1;
    finish();
}

void PendingConnection::close_quietly(const char* why) {
    spdlog::debug("listener {}: client {}: closed before being served: {}", ctx_.options.name, who(), why);
    ::close(fd_);
    fd_ = -1;
    finish();
}

void PendingConnection::force_close() {
    if (phase_ != Phase::done) close_quietly("closing every connection");
}

void PendingConnection::finish() {
    phase_ = Phase::done;
    deadline_.cancel();
    loop_.detach(this);
    // Last touch of the context: once its count reaches 0 a retired one may be freed.
    Admission::release(ctx_, client_, per_ip_taken_);
    loop_.defer([this] { delete this; });
}

}  // namespace switchyard
