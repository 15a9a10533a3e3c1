#pragma once
// Whether a datagram from a client address without a session may open one: decided where the
// session would open, never for a datagram of an open session, in the order a stream listener
// admits a connection (core/proxy/Admission.hpp), cheapest and most certain first:
//   1. access rules (denied): the stream listeners' rules and matcher (Admission::denied);
//   2. rate_limit, one token per new session (rate_limit): the listener's bucket, shared by
//      its loops;
//   3. max_sessions (max_sessions);
//   4. max_sessions_per_ip for the client's IP (max_sessions_per_ip): the listener's per-IP
//      table, shared by its loops (a client using several ports may have sessions on several).
// A refused datagram opens nothing: it is dropped, counted in
// switchyard_udp_datagrams_dropped_total{reason} and logged (rate-limited per kind).
// Listeners that open no sessions (handler echo, a bridge onto a stream upstream) apply step 1
// to each datagram (source_allowed); the config refuses steps 2 and 4 on them.
#include "core/proxy/datagram/DatagramPeer.hpp"

namespace switchyard {

class DatagramListenerLoop;
struct ListenerContext;

class DatagramAdmission {
public:
    // Loop thread of `loop`, which would own the session. True when `client` may open a session:
    // its place in ctx.listener_active (against max_sessions, shared by the listener's
    // generations), in ctx.active (what keeps the context alive) and, with max_sessions_per_ip,
    // its per-IP slot are then taken, for release() to give back. With `access_checked`, step 1 was passed
    // already (reuse_port off: on the loop that received the datagram, before handing it over).
    static bool admit(DatagramListenerLoop& loop, ListenerContext& ctx, const DatagramPeer& client,
                      bool access_checked);

    // Loop thread of `loop`: step 1 alone. False (counted on `loop`, logged) when an access rule
    // denies `client`; true at once when the listener has no rules.
    static bool source_allowed(DatagramListenerLoop& loop, ListenerContext& ctx, const DatagramPeer& client);

    // Any thread: a session admit() let open has ended (or failed to open): its per-IP slot, its
    // place in ctx.listener_active, then (last: ctx may be freed after it) in ctx.active.
    static void release(ListenerContext& ctx, const DatagramPeer& client);
};

}  // namespace switchyard
