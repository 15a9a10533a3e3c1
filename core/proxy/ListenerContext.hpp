#pragma once
// What every session of one listener shares in one configuration generation: its options,
// upstream, codecs, loop balancer and metric children. Built on the control thread, then
// read-only except for the connection (or udp session) counts. A reload builds a new context
// for the listener and switches the accept path to it; sessions keep the context they started
// with, and the runtime frees it once `active` is back to 0 (see core/runtime/Generation.hpp).
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "core/logging/LogRateLimiter.hpp"
#include "core/loop/LoopBalancer.hpp"
#include "core/net/PeerAddress.hpp"
#include "core/options/Options.hpp"
#include "core/proxy/AdmissionState.hpp"
#include "core/proxy/ListenerLogs.hpp"
#include "core/proxy/ProxyMetrics.hpp"
#include "core/proxy/datagram/DatagramMetrics.hpp"

namespace switchyard {

class Codec;
class EventLoop;
class UpstreamPool;
struct ListenerContext;

// Starts the session of an accepted stream connection on its loop (loop thread of `loop`).
using StreamSessionStarter = void (*)(EventLoop& loop, ListenerContext& ctx, int fd, const PeerAddress& client);
void start_stream_session(EventLoop& loop, ListenerContext& ctx, int fd, const PeerAddress& client);

struct ListenerContext {
    ListenerOptions options;
    // What an accepted stream connection becomes: a relayed Session, or, when the upstream
    // speaks UDP, a StreamToDatagramSession (a bridge).
    StreamSessionStarter start_session = &start_stream_session;
    UpstreamPool* upstream = nullptr;             // null for handler listeners
    std::shared_ptr<const Codec> client_codec;     // null = raw bytes
    std::shared_ptr<const Codec> upstream_codec;   // null = raw bytes
    bool passthrough = true;  // both sides frame alike: bytes are forwarded unchanged
    std::size_t block_size = 16 * 1024;  // relay buffer size incl. framing scratch space
    std::size_t max_raw_block_size = 64 * 1024;  // how far a raw direction's buffer may grow
    ListenerMetrics metrics;
    std::unique_ptr<LoopBalancer> loop_balancer;  // which loop serves a new connection
    ListenerLogs logs;  // rate-limited warnings (udp: admission drops), summarised by loop 0's tick
    DatagramListenerMetrics datagram_metrics;  // udp listeners only
    LogRateLimiter error_log;   // udp listeners: codec errors, upstream failures
    // Sessions started with this context and not yet closed (udp: sessions, against
    // max_sessions). Accept path and session close only (any thread); the runtime frees a
    // retired context when it reaches 0.
    alignas(64) std::atomic<std::int64_t> active{0};
    // Connections open on the listener across every generation (shared by the listener's
    // contexts, so a reload does not reset it): what max_connections is enforced against.
    std::shared_ptr<std::atomic<std::int64_t>> listener_active =
        std::make_shared<std::atomic<std::int64_t>>(0);
    // The connection (udp: session) rate bucket and per-IP counts, shared the same way. Accept
    // path (udp: session open) and session close only.
    std::shared_ptr<AdmissionState> admission = std::make_shared<AdmissionState>();
};

}  // namespace switchyard
