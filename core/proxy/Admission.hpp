#pragma once
// Whether, and when, a connection a listener accepted is served. Decided on the accept path
// (never per byte), cheapest and most certain first:
//   1. where the connection comes from: a proxy_protocol listener refuses a source outside
//      its trusted_sources (proxy_protocol_untrusted); any other listener applies its access
//      rules to the client (denied);
//   2. rate_limit (a token per connection), then max_connections (what is open);
//   3. a proxy_protocol listener reads the PROXY header (proxy_protocol_invalid,
//      proxy_protocol_timeout), then applies its access rules to the client the header names;
//   4. max_connections_per_ip, for the client's address;
//   5. with first_byte_timeout, waits for the client's first byte (first_byte_timeout);
// then the loop balancer picks, with the client's address, the loop that serves it. Steps 3
// and 5 wait on the accepting loop (PendingConnection). Each refusal is counted with its
// reason, logged (rate-limited per kind), and the socket closed.
#include <optional>
#include <string>

#include "core/net/PeerAddress.hpp"
#include "core/options/Options.hpp"
#include "core/proxy/ProxyMetrics.hpp"

namespace switchyard {

class EventLoop;
class LoopGroup;
struct ListenerContext;

class Admission {
public:
    // Loop thread of `loop`, which accepted `fd` from `peer`. Takes the socket.
    static void on_accepted(EventLoop& loop, LoopGroup& loops, ListenerContext& ctx, int fd, const PeerAddress& peer);

    // Any thread. The listener's access rules for `client` (nginx's allow/deny: the first rule
    // whose network holds it decides; none = allowed): true when denied, with *detail (unless
    // null) naming the rule. Also a udp listener's (DatagramAdmission).
    static bool denied(const ListenerOptions& options, const PeerAddress& client, std::string* detail);

    // Any thread (accept path). Steps 1/3 (access rules) and 4 for `client`: nullopt when it may
    // be served (a per-IP slot is then taken, when the listener counts them), else the reason,
    // with *detail saying why for the log line.
    static std::optional<RejectReason> check_client(ListenerContext& ctx, const PeerAddress& client,
                                                    std::string* detail);

    // Loop thread of `loop`: counts the refusal and logs it (rate-limited):
    //   listener NAME: client ADDRESS: DETAIL
    // The caller closes the socket and releases what the connection held.
    static void count_refusal(EventLoop& loop, ListenerContext& ctx, RejectReason reason, const std::string& client,
                              const std::string& detail);

    // Any thread: what an admitted connection held, given back when it ends unserved or its
    // session closes: its per-IP slot (when the listener counts them), its place in
    // listener_active, and last its count in ctx.active (after which ctx may be freed).
    static void release(ListenerContext& ctx, const PeerAddress& client, bool per_ip_taken);

    // Loop thread of `loop`: the loop balancer picks a loop for `client` and the session starts
    // there (handed over when it is another loop). ctx.active and listener_active are counted.
    static void serve(EventLoop& loop, LoopGroup& loops, ListenerContext& ctx, int fd, const PeerAddress& client);
};

}  // namespace switchyard
