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
#include "core/net/Address.hpp"
#include "core/net/AddressHash.hpp"
#include "core/net/PeerAddress.hpp"
#include "core/net/SocketAddress.hpp"
#include "core/proxy/Admission.hpp"
#include "core/proxy/ListenerContext.hpp"

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

// A unix socket file's owner and group, as configured (unset ones are left as they are).
// Returns errno, 0 on success. Changing the owner needs root (CAP_CHOWN); a group the daemon's
// user belongs to does not.
int apply_owner(const std::string& path, const ListenerOptions& o) {
    if (!o.owner_uid && !o.group_gid) return 0;
    const uid_t uid = o.owner_uid ? static_cast<uid_t>(*o.owner_uid) : static_cast<uid_t>(-1);
    const gid_t gid = o.group_gid ? static_cast<gid_t>(*o.group_gid) : static_cast<gid_t>(-1);
    return ::lchown(path.c_str(), uid, gid) == 0 ? 0 : errno;
}

std::string owner_text(const ListenerOptions& o) {
    return (o.owner.empty() ? std::string("(unchanged)") : o.owner) + ":" +
           (o.group.empty() ? std::string("(unchanged)") : o.group);
}

}  // namespace

// One listening socket, watched by its loop's poller (edge-triggered: accept until EAGAIN).
struct Listener::Acceptor final : PollHandler {
    Acceptor(Listener& l, EventLoop& lp, int fd, ListenerContext* c)
        : listener(l), loop(lp), fd(fd), ctx(c), pause(lp.timers(), [this] { listener.on_acceptable(*this); }) {}
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
    ListenerContext* ctx;  // loop thread only: the context new connections get
    LoopTimer pause;  // back-off after EMFILE and friends
};

Listener::Listener(ListenerContext& ctx, LoopGroup& loops)
    : ctx_(&ctx), name_(ctx.options.name), loops_(loops) {}

Listener::~Listener() {
    acceptors_.clear();
    if (!unix_path_.empty()) {
        struct stat st {};
        if (::lstat(unix_path_.c_str(), &st) == 0 && st.st_ino == unix_inode_) ::unlink(unix_path_.c_str());
    }
}

void Listener::open() {
    const auto& o = ctx_->options;
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
        if (fd < 0) fail(*ctx_, "socket", errno);
        int one = 1;
        if (!is_unix) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (per_loop && ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
            int e = errno;
            ::close(fd);
            fail(*ctx_, "SO_REUSEPORT", e);
        }
        // Like nginx: a [::] listener takes IPv6 only, so it can sit beside a 0.0.0.0 one.
        if (sa.family() == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        // A unix socket file is created owner-only and given its mode just below, so it is never
        // reachable with wider permissions than configured, whatever the process umask.
        const mode_t umask_before = is_unix ? ::umask(0077) : 0;
        const int bound_ok = ::bind(fd, sa.data(), sa.length);
        const int bind_errno = errno;
        if (is_unix) ::umask(umask_before);
        if (bound_ok != 0) {
            ::close(fd);
            fail(*ctx_, "bind " + (is_unix ? addr->path : o.listen), bind_errno);
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
                    fail(*ctx_, "chmod " + addr->path, e);
                }
                if (int e = apply_owner(addr->path, o)) {
                    ::close(fd);
                    ::unlink(addr->path.c_str());
                    fail(*ctx_, "chown " + addr->path + " to " + owner_text(o), e);
                }
                struct stat st {};
                ::lstat(addr->path.c_str(), &st);
                unix_path_ = addr->path;
                unix_inode_ = st.st_ino;
                // Connecting needs write permission: "other" write lets every local user in, and
                // the backend behind the proxy then sees this daemon's credentials, not theirs.
                if (o.file_mode & S_IWOTH)
                    spdlog::warn("listener {}: unix socket {} is world-writable (mode {:04o}): any local user can "
                                 "connect, and a backend that trusts unix peer credentials sees this daemon's user, "
                                 "not theirs; use a mode such as 0660 and a group for the clients",
                                 o.name, addr->path, o.file_mode);
            } else {
                bound_address_ = bound.to_string();
                sa = bound;
            }
        }
        if (::listen(fd, static_cast<int>(o.backlog)) != 0) {
            int e = errno;
            ::close(fd);
            fail(*ctx_, "listen " + o.listen, e);
        }
        acceptors_.push_back(std::make_unique<Acceptor>(*this, loops_.at(i), fd, ctx_));
    }
}

void Listener::adopt(std::vector<int> fds) {
    const auto& o = ctx_->options;
    const bool want_unix = o.protocol == ListenerProtocol::unix_stream;
    auto refuse = [&](int fd, const std::string& why) {
        for (int f : fds) ::close(f);
        acceptors_.clear();
        throw std::runtime_error("listener " + o.name + ": the socket passed for it (fd " + std::to_string(fd) +
                                 ") " + why);
    };
    for (std::size_t i = 0; i < fds.size(); ++i) {
        const int fd = fds[i];
        int type = 0, listening = 0;
        socklen_t len = sizeof type;
        if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) refuse(fd, "is not a socket");
        len = sizeof listening;
        ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len);
        if (type != SOCK_STREAM || !listening) refuse(fd, "is not a listening stream socket");
        SocketAddress bound;
        bound.length = sizeof bound.storage;
        ::getsockname(fd, bound.data(), &bound.length);
        if ((bound.family() == AF_UNIX) != want_unix)
            refuse(fd, std::string("is ") + (want_unix ? "not a unix socket" : "a unix socket, not TCP"));
        int flags = ::fcntl(fd, F_GETFL);
        ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        if (i == 0) {
            bound_address_ = bound.to_string();
            std::string error;
            auto configured = want_unix ? parse_unix_path(o.listen, &error)
                                        : parse_address(o.listen, &error, /*allow_port_zero=*/true);
            const bool port_zero = configured && !configured->is_unix() && configured->port == 0;
            if (configured && !port_zero && configured->to_string() != bound_address_)
                spdlog::warn("listener {}: the passed socket is bound to {}, not {} as configured; using it", o.name,
                             bound_address_, configured->to_string());
        }
    }
    for (std::size_t i = 0; i < fds.size(); ++i)
        acceptors_.push_back(std::make_unique<Acceptor>(*this, loops_.at(i % loops_.size()), fds[i], ctx_));
}

std::vector<int> Listener::listening_fds() const {
    std::vector<int> out;
    for (const auto& a : acceptors_)
        if (a->fd >= 0) out.push_back(a->fd);
    return out;
}

void Listener::start_accepting() {
    for (auto& a : acceptors_) {
        Acceptor* ap = a.get();
        ap->loop.post([this, ap] {
            if (ap->fd < 0) return;
            if (int err = ap->loop.poller().add(ap->fd, ap, EPOLLIN | EPOLLET)) {
                spdlog::error("listener {}: cannot watch the listening socket: {}", ap->ctx->options.name,
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
            std::string note;
            if (a.ctx->logs.allow(ListenerEvent::accept_error, &note))
                spdlog::error("listener {}: accept: {} (pausing accepts for 100 ms){}", a.ctx->options.name,
                              std::strerror(e), note);
            a.pause.arm_after(std::chrono::milliseconds(100));
            return;
        }
        // Unexpected: log it and try again after the back-off, as edge-triggered readiness
        // would not be reported again for connections already queued.
        std::string note;
        if (a.ctx->logs.allow(ListenerEvent::accept_error, &note))
            spdlog::error("listener {}: accept: {}{}", a.ctx->options.name, std::strerror(e), note);
        a.pause.arm_after(std::chrono::milliseconds(100));
        return;
    }
    // Budget spent: let the loop's sessions run before accepting more.
    a.loop.defer([this, &a] { on_acceptable(a); });
}

void Listener::dispatch(Acceptor& a, int fd, const sockaddr* peer, unsigned peer_len) {
    Admission::on_accepted(a.loop, loops_, *a.ctx, fd, PeerAddress::from(peer, static_cast<socklen_t>(peer_len)));
}

bool Listener::can_keep_sockets(const ListenerOptions& next) const {
    const auto& o = ctx_->options;
    return !acceptors_.empty() && next.protocol == o.protocol && next.listen == o.listen &&
           next.reuse_port == o.reuse_port;
}

template <class Fn>
void Listener::on_each_acceptor_loop(Fn fn) {
    for (auto& a : acceptors_) {
        Acceptor* ap = a.get();
        if (ap->loop.in_loop_thread()) {
            fn(*ap);
        } else {
            std::promise<void> done;
            auto f = done.get_future();
            ap->loop.post([ap, &fn, &done] {
                fn(*ap);
                done.set_value();
            });
            f.wait();
        }
    }
}

void Listener::switch_context(ListenerContext& next) {
    const auto& before = ctx_->options;
    const auto& o = next.options;
    if (!unix_path_.empty() && o.file_mode != before.file_mode && ::chmod(unix_path_.c_str(), o.file_mode) != 0)
        spdlog::warn("listener {}: chmod {}: {}", o.name, unix_path_, std::strerror(errno));
    if (!unix_path_.empty() && (o.owner_uid != before.owner_uid || o.group_gid != before.group_gid))
        if (int e = apply_owner(unix_path_, o))
            spdlog::warn("listener {}: chown {} to {}: {}", o.name, unix_path_, owner_text(o), std::strerror(e));
    ListenerContext* target = &next;
    const bool new_backlog = o.backlog != before.backlog;
    on_each_acceptor_loop([target, new_backlog](Acceptor& a) {
        a.ctx = target;
        // listen() again on a listening socket only resizes its backlog (Linux).
        if (new_backlog && a.fd >= 0) ::listen(a.fd, static_cast<int>(target->options.backlog));
    });
    ctx_ = &next;
    name_ = o.name;
}

void Listener::stop_accepting() {
    on_each_acceptor_loop([](Acceptor& a) { a.close(); });
    if (!unix_path_.empty()) {
        struct stat st {};
        if (::lstat(unix_path_.c_str(), &st) == 0 && st.st_ino == unix_inode_) ::unlink(unix_path_.c_str());
        unix_path_.clear();
    }
}

}  // namespace switchyard
