#pragma once
// The metric children a udp listener's sessions update, resolved once when the runtime is built
// (MetricsCatalogue::datagram_listener), so the data path does a pointer test and a per-loop
// shard add. All null when metrics are disabled. Bytes, idle timeouts and frames use the
// listener's stream families (ListenerMetrics); the endpoint's datagram counters sit in
// EndpointMetrics.
#include <cstdint>

namespace switchyard::metrics {
class Counter;
class Gauge;
}  // namespace switchyard::metrics

namespace switchyard {

// Why a datagram was not relayed (the `reason` label of switchyard_udp_datagrams_dropped_total).
enum class DatagramDropReason : std::uint8_t {
    max_sessions,      // it would have opened a session beyond max_sessions
    oversize,          // larger than max_datagram (MSG_TRUNC)
    upstream_refused,  // the endpoint answered ICMP port unreachable (ECONNREFUSED): session ended
    send_buffer_full,  // EAGAIN / ENOBUFS on the send: dropped, never waited for
    send_error,        // any other send error (logged)
    handoff_full,      // reuse_port off: the owning loop's inbox was full
    codec_error,       // the datagram does not frame (or a frame cannot be encoded)
    stream_down,       // a bridge's pooled stream connection is down
    // Refused a session (core/proxy/datagram/DatagramAdmission.hpp); named as the stream
    // listeners' rejection reasons are.
    denied,               // an access rule denied its client
    rate_limit,           // it would have opened a session beyond rate_limit
    max_sessions_per_ip,  // its client's IP has max_sessions_per_ip sessions open
    draining,             // a new client of a listener that opens no sessions any more (SIGTERM's
                          // drain, or removed by a reload while its sessions end)
    count
};

constexpr const char* to_string(DatagramDropReason r) {
    switch (r) {
        case DatagramDropReason::max_sessions: return "max_sessions";
        case DatagramDropReason::oversize: return "oversize";
        case DatagramDropReason::upstream_refused: return "upstream_refused";
        case DatagramDropReason::send_buffer_full: return "send_buffer_full";
        case DatagramDropReason::send_error: return "send_error";
        case DatagramDropReason::handoff_full: return "handoff_full";
        case DatagramDropReason::codec_error: return "codec_error";
        case DatagramDropReason::stream_down: return "stream_down";
        case DatagramDropReason::denied: return "denied";
        case DatagramDropReason::rate_limit: return "rate_limit";
        case DatagramDropReason::max_sessions_per_ip: return "max_sessions_per_ip";
        case DatagramDropReason::draining: return "draining";
        default: return "unknown";
    }
}

struct DatagramListenerMetrics {
    metrics::Gauge* sessions_active = nullptr;
    metrics::Counter* sessions_total = nullptr;
    metrics::Counter* datagrams_received = nullptr;  // from clients
    metrics::Counter* datagrams_sent = nullptr;      // to clients
    metrics::Counter* dropped[static_cast<int>(DatagramDropReason::count)] = {};
};

}  // namespace switchyard
