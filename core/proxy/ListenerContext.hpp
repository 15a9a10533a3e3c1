#pragma once
// What every session of one listener shares: its options, upstream, codecs and metric
// children. Built on the control thread, then read-only except for the connection (or udp session) count.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "core/logging/LogRateLimiter.hpp"
#include "core/options/Options.hpp"
#include "core/proxy/ProxyMetrics.hpp"
#include "core/proxy/datagram/DatagramMetrics.hpp"

namespace switchyard {

class Codec;
class EventLoop;
class UpstreamPool;
struct ListenerContext;

// Starts the session of an accepted stream connection on its loop (loop thread of `loop`).
using StreamSessionStarter = void (*)(EventLoop& loop, ListenerContext& ctx, int fd, int family,
                                      std::uint64_t client_ip_hash);
void start_stream_session(EventLoop& loop, ListenerContext& ctx, int fd, int family, std::uint64_t client_ip_hash);

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
    DatagramListenerMetrics datagram_metrics;  // udp listeners only
    LogRateLimiter reject_log;  // max_connections rejections
    LogRateLimiter error_log;   // codec errors, upstream failures
    // Accept path and session close only (any thread): enforces max_connections (udp: max_sessions).
    alignas(64) std::atomic<std::int64_t> active{0};
};

}  // namespace switchyard
