#include "core/proxy/Admission.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "core/loop/LoopGroup.hpp"
#include "core/metrics/Counter.hpp"
#include "core/proxy/ListenerContext.hpp"
#include "core/proxy/PendingConnection.hpp"
#include "core/proxy/Session.hpp"

namespace switchyard {
namespace {

ListenerEvent event_for(RejectReason reason) {
    switch (reason) {
        case RejectReason::denied: return ListenerEvent::denied;
        case RejectReason::rate_limit: return ListenerEvent::rate_limited;
        case RejectReason::max_connections_per_ip: return ListenerEvent::per_ip_limit;
        case RejectReason::first_byte_timeout: return ListenerEvent::first_byte_timeout;
        case RejectReason::proxy_protocol_untrusted:
        case RejectReason::proxy_protocol_invalid:
        case RejectReason::proxy_protocol_timeout: return ListenerEvent::proxy_protocol;
        case RejectReason::upstream_unavailable: return ListenerEvent::upstream_unavailable;
        default: return ListenerEvent::rejected;
    }
}

bool in_any(const std::vector<Cidr>& networks, const PeerAddress& peer) {
    for (const Cidr& c : networks)
        if (c.contains(peer)) return true;
    return false;
}

bool over_per_ip_limit(ListenerContext& ctx, const PeerAddress& client, std::string* detail) {
    const std::uint32_t limit = ctx.options.max_connections_per_ip;
    if (limit == 0 || ctx.admission->per_ip.try_acquire(client, limit)) return false;
    *detail = fmt::format("rejected, max_connections_per_ip {} reached", limit);
    return true;
}

}  // namespace

// nginx's allow/deny: the first rule whose network holds the client decides; none = allowed.
bool Admission::denied(const ListenerOptions& options, const PeerAddress& client, std::string* detail) {
    const auto& rules = options.access;
    for (std::size_t i = 0; i < rules.size(); ++i) {
        if (!rules[i].source.contains(client)) continue;
        if (rules[i].action == AccessAction::allow) return false;
        if (detail) *detail = fmt::format("denied by access rule {} (deny {})", i + 1, rules[i].source.to_string());
        return true;
    }
    return false;
}

void Admission::count_refusal(EventLoop& loop, ListenerContext& ctx, RejectReason reason, const std::string& client,
                              const std::string& detail) {
    // Counted before the close, so whoever sees the close also sees it counted.
    if (auto* c = ctx.metrics.rejected[static_cast<int>(reason)]) c->inc(loop.index());
    const ListenerEvent event = event_for(reason);
    std::string note;
    if (ctx.logs.allow(event, &note))
        spdlog::log(event == ListenerEvent::first_byte_timeout ? spdlog::level::info : spdlog::level::warn,
                    "listener {}: client {}: {}{}", ctx.options.name, client, detail, note);
}

std::optional<RejectReason> Admission::check_client(ListenerContext& ctx, const PeerAddress& client,
                                                    std::string* detail) {
    if (denied(ctx.options, client, detail)) return RejectReason::denied;
    if (over_per_ip_limit(ctx, client, detail)) return RejectReason::max_connections_per_ip;
    return std::nullopt;
}

void Admission::release(ListenerContext& ctx, const PeerAddress& client, bool per_ip_taken) {
    if (per_ip_taken && ctx.options.max_connections_per_ip != 0) ctx.admission->per_ip.release(client);
    ctx.listener_active->fetch_sub(1, std::memory_order_relaxed);
    // Last: once a retired generation's count reaches 0 the runtime may free this context.
    ctx.active.fetch_sub(1, std::memory_order_relaxed);
}

void Admission::on_accepted(EventLoop& loop, LoopGroup& loops, ListenerContext& ctx, int fd,
                            const PeerAddress& peer) {
    const auto& o = ctx.options;
    const bool reads_header = o.proxy_protocol == ProxyProtocolMode::accept;
    auto refuse = [&](RejectReason reason, const std::string& detail) {
        count_refusal(loop, ctx, reason, peer.to_string(), detail);
        ::close(fd);
    };
    // 1. Where the connection comes from.
    if (reads_header) {
        if (!o.trusted_sources.empty() && !in_any(o.trusted_sources, peer))
            return refuse(RejectReason::proxy_protocol_untrusted,
                          "rejected, not in trusted_sources (only those may send a PROXY protocol header)");
    } else if (std::string detail; denied(o, peer, &detail)) {
        return refuse(RejectReason::denied, detail);
    }
    // 2. The listener's shared budgets.
    if (o.rate_limit.per_second != 0 && !ctx.admission->rate.try_acquire(o.rate_limit.per_second, o.rate_limit.burst))
        return refuse(RejectReason::rate_limit, fmt::format("rejected, rate_limit {}/s (burst {}) exceeded",
                                                            o.rate_limit.per_second, o.rate_limit.burst));
    const std::int64_t active = ctx.listener_active->fetch_add(1, std::memory_order_relaxed) + 1;
    if (o.max_connections != 0 && active > static_cast<std::int64_t>(o.max_connections)) {
        ctx.listener_active->fetch_sub(1, std::memory_order_relaxed);
        return refuse(RejectReason::max_connections, fmt::format("rejected, max_connections {} reached", o.max_connections));
    }
    // Counted on the context before any wait or hand-over, so the context outlives them.
    ctx.active.fetch_add(1, std::memory_order_relaxed);
    if (reads_header) {
        PendingConnection::start(loop, loops, ctx, fd, peer);
        return;
    }
    // 4. The client's own limit (its access rules passed above).
    if (std::string detail; over_per_ip_limit(ctx, peer, &detail)) {
        count_refusal(loop, ctx, RejectReason::max_connections_per_ip, peer.to_string(), detail);
        ::close(fd);
        release(ctx, peer, /*per_ip_taken=*/false);
        return;
    }
    if (o.first_byte_timeout.count() > 0) {
        PendingConnection::start(loop, loops, ctx, fd, peer);
        return;
    }
    serve(loop, loops, ctx, fd, peer);
}

void start_stream_session(EventLoop& loop, ListenerContext& ctx, int fd, const PeerAddress& client) {
    Session::start(loop, ctx, fd, client);
}

void Admission::serve(EventLoop& loop, LoopGroup& loops, ListenerContext& ctx, int fd, const PeerAddress& client) {
    EventLoop& target = loops.at(ctx.loop_balancer->pick(client.ip_hash()));
    target.add_load(1);
    if (&target == &loop) {
        ctx.start_session(target, ctx, fd, client);
        return;
    }
    ListenerContext* c = &ctx;
    auto hand_over = [&target, c, fd, client] { c->start_session(target, *c, fd, client); };
    static_assert(sizeof hand_over <= LoopTask::kInline, "a hand-over must not allocate");
    target.post(std::move(hand_over));
}

}  // namespace switchyard
