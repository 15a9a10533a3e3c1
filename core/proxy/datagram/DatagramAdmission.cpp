#include "core/proxy/datagram/DatagramAdmission.hpp"

#include <spdlog/spdlog.h>

#include <string>

#include "core/net/PeerAddress.hpp"
#include "core/proxy/Admission.hpp"
#include "core/proxy/ListenerContext.hpp"
#include "core/proxy/datagram/DatagramListenerLoop.hpp"

namespace switchyard {
namespace {

ListenerEvent event_for(DatagramDropReason reason) {
    switch (reason) {
        case DatagramDropReason::denied: return ListenerEvent::datagram_denied;
        case DatagramDropReason::rate_limit: return ListenerEvent::datagram_rate_limited;
        case DatagramDropReason::max_sessions_per_ip: return ListenerEvent::datagram_per_ip_limit;
        default: return ListenerEvent::datagram_max_sessions;
    }
}

// Counted before anything else, then logged (rate-limited per kind):
//   listener NAME: client ADDRESS: DETAIL; datagram dropped
// `detail()` is only called for a line that is written: a flood of refused datagrams costs no
// allocation beyond the lines let through.
template <class Detail>
void refuse(DatagramListenerLoop& loop, ListenerContext& ctx, DatagramDropReason reason, const DatagramPeer& client,
            Detail detail) {
    loop.count_drop(reason);
    std::string note;
    if (ctx.logs.allow(event_for(reason), &note))
        spdlog::warn("listener {}: client {}: {}; datagram dropped{}", ctx.options.name, client.to_string(), detail(),
                     note);
}

PeerAddress address_of(const DatagramPeer& client) { return PeerAddress::from(client.data(), client.length); }

}  // namespace

bool DatagramAdmission::source_allowed(DatagramListenerLoop& loop, ListenerContext& ctx, const DatagramPeer& client) {
    if (ctx.options.access.empty()) return true;
    const PeerAddress address = address_of(client);
    if (!Admission::denied(ctx.options, address, nullptr)) return true;
    refuse(loop, ctx, DatagramDropReason::denied, client, [&] {
        std::string detail;
        Admission::denied(ctx.options, address, &detail);
        return detail;
    });
    return false;
}

bool DatagramAdmission::admit(DatagramListenerLoop& loop, ListenerContext& ctx, const DatagramPeer& client,
                              bool access_checked) {
    const ListenerOptions& o = ctx.options;
    // 1. Where it comes from.
    if (!access_checked && !source_allowed(loop, ctx, client)) return false;
    // 2. and 3. The listener's shared budgets.
    if (o.rate_limit.per_second != 0 && !ctx.admission->rate.try_acquire(o.rate_limit.per_second, o.rate_limit.burst)) {
        refuse(loop, ctx, DatagramDropReason::rate_limit, client, [&] {
            return fmt::format("rate_limit {}/s (burst {}) of new sessions exceeded", o.rate_limit.per_second,
                               o.rate_limit.burst);
        });
        return false;
    }
    // max_sessions counts the listener's sessions of every configuration generation: a reload
    // makes no room for more.
    const std::int64_t active = ctx.listener_active->fetch_add(1, std::memory_order_relaxed) + 1;
    if (o.max_sessions != 0 && active > static_cast<std::int64_t>(o.max_sessions)) {
        ctx.listener_active->fetch_sub(1, std::memory_order_relaxed);
        refuse(loop, ctx, DatagramDropReason::max_sessions, client,
               [&] { return fmt::format("max_sessions {} reached", o.max_sessions); });
        return false;
    }
    // 4. The client's own limit.
    if (o.max_sessions_per_ip != 0 && !ctx.admission->per_ip.try_acquire(address_of(client), o.max_sessions_per_ip)) {
        ctx.listener_active->fetch_sub(1, std::memory_order_relaxed);
        refuse(loop, ctx, DatagramDropReason::max_sessions_per_ip, client,
               [&] { return fmt::format("max_sessions_per_ip {} reached", o.max_sessions_per_ip); });
        return false;
    }
    ctx.active.fetch_add(1, std::memory_order_relaxed);
    return true;
}

void DatagramAdmission::release(ListenerContext& ctx, const DatagramPeer& client) {
    if (ctx.options.max_sessions_per_ip != 0) ctx.admission->per_ip.release(address_of(client));
    ctx.listener_active->fetch_sub(1, std::memory_order_relaxed);
    // Last, as a stream connection's release: the context's count of what still uses it.
    ctx.active.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace switchyard
