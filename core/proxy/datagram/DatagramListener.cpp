#include "core/proxy/datagram/DatagramListener.hpp"

#include <fcntl.h>

#include <future>

#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "core/loop/EventLoop.hpp"
#include "core/loop/LoopGroup.hpp"
#include "core/net/SocketAddress.hpp"
#include "core/proxy/ListenerContext.hpp"
#include "core/proxy/datagram/DatagramAdmission.hpp"
#include "core/proxy/datagram/DatagramListenerLoop.hpp"

namespace switchyard {

namespace {

[[noreturn]] void fail(const ListenerContext& ctx, const std::string& what, int err) {
    throw std::runtime_error("listener " + ctx.options.name + ": " + what + ": " + std::strerror(err));
}

bool is_wildcard(const SocketAddress& sa) {
    if (sa.family() == AF_INET)
        return reinterpret_cast<const sockaddr_in*>(&sa.storage)->sin_addr.s_addr == htonl(INADDR_ANY);
    if (sa.family() == AF_INET6)
        return IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6*>(&sa.storage)->sin6_addr);
    return false;
}

}  // namespace

DatagramListener::DatagramListener(ListenerContext& ctx, LoopGroup& loops)
    : ctx_(&ctx), loops_(loops), balancer_(std::make_unique<LoopBalancer>(ctx.options.balancer, loops)) {
    for (std::size_t i = 0; i < loops.size(); ++i)
        per_loop_.push_back(std::make_unique<DatagramListenerLoop>(*this, ctx, loops.at(i)));
    wake_needed_.assign(loops.size(), 0);
}

DatagramListener::~DatagramListener() {
    for (auto& l : per_loop_) l->end_sessions();
}

const std::string& DatagramListener::name() const { return ctx_->options.name; }

bool DatagramListener::can_keep_sockets(const ListenerOptions& next) const {
    const auto& o = ctx_->options;
    return next.datagram() && next.listen == o.listen && next.reuse_port == o.reuse_port;
}

void DatagramListener::switch_context(ListenerContext& next) {
    const bool was_routed = routed_;
    if (next.options.balancer != ctx_->options.balancer)
        balancer_ = std::make_unique<LoopBalancer>(next.options.balancer, loops_);
    for (auto& part : per_loop_) part->switch_context(next);
    ctx_ = &next;
    routed_ = needs_routing();  // a reload may make or unmake a bridge
    if (routed_ && !was_routed) make_inboxes();
}

std::int64_t DatagramListener::open_sessions() const {
    return ctx_->listener_active->load(std::memory_order_relaxed);
}

void DatagramListener::retire() {
    stop_accepting();
    for (auto& part : per_loop_) part->retire();
}

void DatagramListener::open() {
    const auto& o = ctx_->options;
    std::string error;
    std::optional<Address> addr = parse_address(o.listen, &error, /*allow_port_zero=*/true);
    if (!addr || addr->is_unix())
        throw std::runtime_error("listener " + o.name + ": listen " + o.listen + ": " +
                                 (addr ? "a udp listener needs host:port" : error));
    auto resolved = resolve(*addr, &error);
    if (resolved.empty()) throw std::runtime_error("listener " + o.name + ": listen " + o.listen + ": " + error);
    SocketAddress sa = resolved.front();
    const std::size_t count = o.reuse_port ? loops_.size() : 1;
    const bool wildcard = is_wildcard(sa);
    for (std::size_t i = 0; i < count; ++i) {
        int fd = ::socket(sa.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) fail(*ctx_, "socket", errno);
        per_loop_[i]->set_socket(fd);  // owned from here: closed with the loop part
        int one = 1;
        // No SO_REUSEADDR: for UDP it lets two sockets share an address (it has no TIME_WAIT to
        // step over), so a listener would silently take the port of a server that set it too
        // (dnsmasq does) instead of failing with "Address already in use".
        if (o.reuse_port && ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
            fail(*ctx_, "SO_REUSEPORT", errno);
        if (sa.family() == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        per_loop_[i]->set_receive_buffer(o.receive_buffer);
        // On a wildcard address, learn which address each datagram was sent to, so the reply
        // leaves from it (a specific address needs nothing: replies leave from it anyway).
        if (wildcard) {
            int rc = sa.family() == AF_INET ? ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one)
                                            : ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
            if (rc != 0) fail(*ctx_, "IP_PKTINFO", errno);
        }
        if (::bind(fd, sa.data(), sa.length) != 0) fail(*ctx_, "bind " + o.listen, errno);
        if (i == 0) {
            // Port 0: the first socket picks the port, the other loops' sockets join it.
            SocketAddress bound;
            bound.length = sizeof bound.storage;
            ::getsockname(fd, bound.data(), &bound.length);
            bound_address_ = bound.to_string();
            sa = bound;
        }
    }
    finish_open();
}

void DatagramListener::adopt(std::vector<int> fds) {
    const auto& o = ctx_->options;
    for (std::size_t i = 0; i < fds.size(); ++i) {
        const int fd = fds[i];
        int type = 0;
        socklen_t len = sizeof type;
        SocketAddress bound;
        bound.length = sizeof bound.storage;
        const bool ok = ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_DGRAM &&
                        ::getsockname(fd, bound.data(), &bound.length) == 0 &&
                        (bound.family() == AF_INET || bound.family() == AF_INET6);
        if (!ok || i >= per_loop_.size() || (i > 0 && !o.reuse_port)) {
            for (std::size_t k = i; k < fds.size(); ++k) ::close(fds[k]);
            if (!ok)
                throw std::runtime_error("listener " + o.name + ": the socket passed for it (fd " + std::to_string(fd) +
                                         ") is not a bound UDP socket");
            spdlog::warn("listener {}: {} more socket(s) passed than it reads from; closed", o.name, fds.size() - i);
            break;
        }
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        per_loop_[i]->set_socket(fd);
        int one = 1;
        if (is_wildcard(bound)) {
            if (bound.family() == AF_INET) ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
            else ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
        }
        if (i == 0) bound_address_ = bound.to_string();
    }
    finish_open();
}

void DatagramListener::stop_reading() {
    stop_accepting();
    for (auto& part : per_loop_) {
        if (part->socket() < 0) continue;
        DatagramListenerLoop* p = part.get();
        std::promise<void> done;
        auto f = done.get_future();
        p->loop().post([p, &done] {
            p->stop_reading();
            done.set_value();
        });
        f.wait();
    }
}

std::vector<int> DatagramListener::listening_fds() const {
    std::vector<int> out;
    for (const auto& part : per_loop_)
        if (part->socket() >= 0) out.push_back(part->socket());
    return out;
}

void DatagramListener::finish_open() {
    const auto& o = ctx_->options;
    routed_ = needs_routing();
    if (!o.reuse_port) {
        const int fd = per_loop_[0]->socket();
        for (std::size_t i = 1; i < per_loop_.size(); ++i) per_loop_[i]->set_reply_socket(fd);
    }
    if (routed_) make_inboxes();
}

bool DatagramListener::needs_routing() const {
    // Sessions need their owner found; a bridge to a stream upstream has none (each loop that
    // reads writes onto its own pooled connection).
    return !ctx_->options.reuse_port && loops_.size() > 1 && ctx_->upstream != nullptr && !per_loop_[0]->bridged();
}

void DatagramListener::make_inboxes() {
    // Room for at least 16 of the largest datagrams in flight to each loop (the largest a
    // datagram may be at all: a reload may raise max_datagram).
    const std::size_t bytes = std::max<std::size_t>(std::size_t{1} << 20, 16 * (65535 + sizeof(DatagramHandoff) + 16));
    for (std::size_t i = 1; i < per_loop_.size(); ++i)
        if (!per_loop_[i]->inbox()) per_loop_[i]->make_inbox(bytes);
}

void DatagramListener::start_accepting() {
    // Only the loops that own a socket read (every loop with reuse_port, else loop 0), each on
    // its own thread.
    for (auto& l : per_loop_) {
        DatagramListenerLoop* lp = l.get();
        if (lp->socket() >= 0) lp->loop().post([lp] { lp->start_reading(); });
    }
}

void DatagramListener::stop_accepting() { accepting_.store(false, std::memory_order_relaxed); }

void DatagramListener::route(DatagramListenerLoop& receiver, const DatagramPeer& peer, const LocalAddress& local,
                             const std::uint8_t* data, std::size_t len) {
    std::uint32_t owner;
    auto it = routes_.find(peer);
    if (it != routes_.end()) {
        owner = it->second;
    } else {
        if (!accepting()) {  // draining: no new sessions
            receiver.count_drop(DatagramDropReason::draining);
            return;
        }
        // A denied client is turned away here, before it costs a route and a hand-over; the
        // owning loop decides the rest (its limits count what it opens).
        if (!DatagramAdmission::source_allowed(receiver, *ctx_, peer)) return;
        owner = static_cast<std::uint32_t>(balancer_->pick(peer.ip_hash()));
        routes_.emplace(peer, owner);
    }
    if (owner == receiver.index()) {
        receiver.deliver(peer, local, data, len);
        return;
    }
    DatagramListenerLoop& target = *per_loop_[owner];
    const DatagramHandoff h{peer, local};
    if (!target.inbox()->push(&h, sizeof h, data, len)) {
        receiver.count_drop(DatagramDropReason::handoff_full);
        return;
    }
    wake_needed_[owner] = 1;
}

void DatagramListener::wake_owners() {
    for (std::size_t i = 0; i < wake_needed_.size(); ++i) {
        if (!wake_needed_[i]) continue;
        wake_needed_[i] = 0;
        DatagramListenerLoop* target = per_loop_[i].get();
        if (target->inbox()->try_claim_wake()) target->loop().post([target] { target->drain_inbox(); });
    }
}

void DatagramListener::forget_route(const DatagramPeer& peer, std::size_t owner) {
    EventLoop& receiving = per_loop_[0]->loop();
    auto erase = [this, peer, owner] {
        auto it = routes_.find(peer);
        if (it != routes_.end() && it->second == owner) routes_.erase(it);
    };
    if (receiving.in_loop_thread()) erase();
    else receiving.post(std::move(erase));
}

}  // namespace switchyard
