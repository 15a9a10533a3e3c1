#include "core/proxy/Listener.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <stdexcept>

#include "core/loop/LoopGroup.hpp"
#include "core/loop/LoopTimer.hpp"
#include "core/loop/Poller.hpp"
#include "core/metrics/Counter.hpp"
#include "core/net/AddressHash.hpp"
#include "core/net/SocketAddress.hpp"
#include "core/proxy/ListenerContext.hpp"
#include "core/proxy/Session.hpp"

namespace switchyard {

namespace {

constexpr int kAcceptBudget = 64;

[[noreturn]] void fail(const ListenerContext& ctx, const std::string& what, int err) {
    throw std::runtime_error("listener " + ctx.options.name + ": " + what + ": " + std::strerror(err));
}

// A unix socket file left behind by a dead process: nobody accepts on it any more.
bool is_stale_unix_socket(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return false;
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    std::strncpy(un.sun_path, path.c_str(), sizeof un.sun_path - 1);
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&un), sizeof un);
    int err = errno;
    ::close(fd);
    return rc != 0 && err == ECONNREFUSED;
}

}  // namespace

// One listening socket, watched by its loop's poller (edge-triggered: accept until EAGAIN).
struct Listener::Acceptor final : PollHandler {
    Acceptor(Listener& l, EventLoop& lp, int fd)
        : listener(l), loop(lp), fd(fd), pause(lp.timers(), [this] { listener.on_acceptable(*this); }) {}
    ~Acceptor() { close(); }
    void on_poll_events(std::uint32_t) override { listener.on_acceptable(*this); }
    void close() {
        if (fd >= 0) ::close(fd);  // also leaves the poller
        fd = -1;
        pause.cancel();
    }
    Listener& listener;
    EventLoop& loop;
    int fd;
    LoopTimer pause;  // back-off after EMFILE and friends
};

Listener::Listener(ListenerContext& ctx, LoopGroup& loops)
    : ctx_(ctx), loops_(loops), balancer_(ctx.options.balancer, loops) {}

Listener::~Listener() {
    acceptors_.clear();
    if (!unix_path_.empty()) {
        struct stat st {};
        if (::lstat(unix_path_.c_str(), &st) == 0 && st.st_ino == unix_inode_) ::unlink(unix_path_.c_str());
    }
}

const std::string& Listener::name() const { return ctx_.options.name; }

void Listener::open() {
    const auto& o = ctx_.options;
    std::string error;
    std::optional<Address> addr = o.protocol == ListenerProtocol::unix_stream
                                      ? parse_unix_path(o.listen, &error)
                                      : parse_address(o.listen, &error, /*allow_port_zero=*/true);
    if (!addr) throw std::runtime_error("listener " + o.name + ": listen " + o.listen + ": " + error);
    auto resolved = resolve(*addr, &error);
    if (resolved.empty()) throw std::runtime_error("listener " + o.name + ": listen " + o.listen + ": " + error);
    SocketAddress sa = resolved.front();
    const bool is_unix = addr->is_unix();
    const bool per_loop = o.reuse_port && !is_unix;
    const std::size_t count = per_loop ? loops_.size() : 1;

    if (is_unix && ::access(addr->path.c_str(), F_OK) == 0) {
        if (!is_stale_unix_socket(addr->path))
            throw std::runtime_error("listener " + o.name + ": bind " + addr->path +
                                     ": Address already in use (a live socket or another file is there)");
        ::unlink(addr->path.c_str());
        spdlog::info("listener {}: removed stale socket file {}", o.name, addr->path);
    }

    for (std::size_t i = 0; i < count; ++i) {
        int fd = ::socket(sa.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) fail(ctx_, "socket", errno);
        int one = 1;
        if (!is_unix) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (per_loop && ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
            int e = errno;
            ::close(fd);
            fail(ctx_, "SO_REUSEPORT", e);
        }
        // Like nginx: a [::] listener takes IPv6 only, so it can sit beside a 0.0.0.0 one.
        if (sa.family() == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        if (::bind(fd, sa.data(), sa.length) != 0) {
            int e = errno;
            ::close(fd);
            fail(ctx_, "bind " + (is_unix ? addr->path : o.listen), e);
        }
        if (i == 0) {
            // Port 0: the first socket picks the port, the other loops' sockets join it.
            SocketAddress bound;
            bound.length = sizeof bound.storage;
            ::getsockname(fd, bound.data(), &bound.length);
            if (is_unix) {
                bound_address_ = "unix:" + addr->path;
                if (::chmod(addr->path.c_str(), o.file_mode) != 0) {
                    int e = errno;
                    ::close(fd);
                    fail(ctx_, "chmod " + addr->path, e);
                }
                struct stat st {};
                ::lstat(addr->path.c_str(), &st);
                unix_path_ = addr->path;
                unix_inode_ = st.st_ino;
            } else {
                bound_address_ = bound.to_string();
                sa = bound;
            }
        }
        if (::listen(fd, static_cast<int>(o.backlog)) != 0) {
            int e = errno;
            ::close(fd);
            fail(ctx_, "listen " + o.listen, e);
        }
        acceptors_.push_back(std::make_unique<Acceptor>(*this, loops_.at(i), fd));
    }
}

void Listener::start_accepting() {
    for (auto& a : acceptors_) {
        Acceptor* ap = a.get();
        ap->loop.post([this, ap] {
            if (ap->fd < 0) return;
            if (int err = ap->loop.poller().add(ap->fd, ap, EPOLLIN | EPOLLET)) {
                spdlog::error("listener {}: cannot watch the listening socket: {}", ctx_.options.name,
                              std::strerror(err));
                return;
            }
            on_acceptable(*ap);  // connections that queued before the watch raised no edge
        });
    }
}

void Listener::on_acceptable(Acceptor& a) {
    if (a.fd < 0) return;
    for (int budget = kAcceptBudget; budget > 0; --budget) {
        SocketAddress peer;
        peer.length = sizeof peer.storage;
        int fd = ::accept4(a.fd, peer.data(), &peer.length, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            dispatch(a, fd, peer.data(), peer.length);
            continue;
        }
        int e = errno;
        if (e == EAGAIN || e == EWOULDBLOCK) return;  // the next connection raises the next edge
        if (e == EINTR || e == ECONNABORTED || e == EPROTO) continue;
        if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
            // Out of descriptors: pending connections stay in the backlog; retry shortly rather
            // than spin on a socket that stays readable.
            std::uint64_t suppressed = 0;
            if (ctx_.reject_log.allow(&suppressed))
                spdlog::error("listener {}: accept: {} (pausing accepts for 100 ms)", ctx_.options.name,
                              std::strerror(e));
            a.pause.arm_after(std::chrono::milliseconds(100));
            return;
        }
        // Unexpected: log it and try again after the back-off, as edge-triggered readiness
        // would not be reported again for connections already queued.
        spdlog::error("listener {}: accept: {}", ctx_.options.name, std::strerror(e));
        a.pause.arm_after(std::chrono::milliseconds(100));
        return;
    }
    // Budget spent: let the loop's sessions run before accepting more.
    a.loop.defer([this, &a] { on_acceptable(a); });
}

void Listener::dispatch(Acceptor& a, int fd, const sockaddr* peer, unsigned peer_len) {
    const auto& o = ctx_.options;
    std::int64_t active = ctx_.active.fetch_add(1, std::memory_order_relaxed) + 1;
    if (o.max_connections != 0 && active > static_cast<std::int64_t>(o.max_connections)) {
        ctx_.active.fetch_sub(1, std::memory_order_relaxed);
        // Counted before the close, so whoever sees the close also sees it counted.
        if (ctx_.metrics.rejected_max_connections) ctx_.metrics.rejected_max_connections->inc(a.loop.index());
        std::uint64_t suppressed = 0;
        if (ctx_.reject_log.allow(&suppressed)) {
            SocketAddress p;
            std::memcpy(&p.storage, peer, peer_len);
            p.length = peer_len;
            spdlog::warn("listener {}: max_connections {} reached, rejected {}{}", o.name, o.max_connections,
                         p.to_string(),
                         suppressed ? fmt::format(" ({} more rejections not logged)", suppressed) : "");
        }
        ::close(fd);
        return;
    }
    std::uint64_t hash = hash_peer_ip(peer, static_cast<socklen_t>(peer_len));
    std::size_t target = balancer_.pick(hash);
    EventLoop& loop = loops_.at(target);
    loop.add_load(1);
    int family = peer->sa_family == AF_UNSPEC ? AF_UNIX : peer->sa_family;
    if (&loop == &a.loop) {
        ctx_.start_session(loop, ctx_, fd, family, hash);
    } else {
        ListenerContext* ctx = &ctx_;
        loop.post([&loop, ctx, fd, family, hash] { ctx->start_session(loop, *ctx, fd, family, hash); });
    }
}

void start_stream_session(EventLoop& loop, ListenerContext& ctx, int fd, int family, std::uint64_t client_ip_hash) {
    Session::start(loop, ctx, fd, family, client_ip_hash);
}

void Listener::stop_accepting() {
    for (auto& a : acceptors_) {
        Acceptor* ap = a.get();
        if (ap->loop.in_loop_thread()) {
            ap->close();
        } else {
            std::promise<void> done;
            auto f = done.get_future();
            ap->loop.post([ap, &done] {
                ap->close();
                done.set_value();
            });
            f.wait();
        }
    }
    if (!unix_path_.empty()) {
        struct stat st {};
        if (::lstat(unix_path_.c_str(), &st) == 0 && st.st_ino == unix_inode_) ::unlink(unix_path_.c_str());
        unix_path_.clear();
    }
}

}  // namespace switchyard
