#pragma once
// The metric children a listener's and an endpoint's sessions update, resolved once when the
// runtime is built so the data path does a pointer test and a per-loop shard add, nothing more.
// All pointers are null when metrics are disabled.
#include <cstdint>

namespace switchyard::metrics {
class Counter;
class Gauge;
class Histogram;
}  // namespace switchyard::metrics

namespace switchyard {

// Why a frame could not be relayed. truncated: the stream ended (FIN or reset) inside a frame,
// whose bytes were dropped; the other reasons close the connection. frame_timeout: a started
// frame did not complete within the listener's frame_timeout.
enum class CodecErrorReason : std::uint8_t { malformed, too_large, encode_failed, truncated, frame_timeout, count };
// Why a client connection was closed without being served (the `reason` label of
// switchyard_listener_connections_rejected_total).
enum class RejectReason : std::uint8_t {
    max_connections,           // the listener's max_connections are open
    upstream_unavailable,      // every connect attempt failed
    denied,                    // an access rule denies the client's address
    rate_limit,                // the listener's rate_limit bucket is empty
    max_connections_per_ip,    // the client's address has max_connections_per_ip open
    first_byte_timeout,        // the client sent nothing within first_byte_timeout
    proxy_protocol_untrusted,  // proxy_protocol from an address outside trusted_sources
    proxy_protocol_invalid,    // a malformed PROXY header, or the connection ended inside one
    proxy_protocol_timeout,    // no complete PROXY header within proxy_protocol_timeout
    no_healthy_endpoint,       // when_all_down: reject, and no endpoint is healthy
    count
};
enum class ConnectFailureReason : std::uint8_t {
    refused, timeout, unreachable, not_found, permission_denied, other, count
};

struct ListenerMetrics {
    metrics::Gauge* connections_active = nullptr;
    metrics::Counter* connections_total = nullptr;
    // By RejectReason; null for reasons this listener's options cannot produce.
    metrics::Counter* rejected[static_cast<int>(RejectReason::count)] = {};
    metrics::Counter* bytes_received = nullptr;  // from clients
    metrics::Counter* bytes_sent = nullptr;      // to clients
    metrics::Counter* frames_received = nullptr; // decoded from clients
    metrics::Counter* frames_sent = nullptr;     // encoded to clients
    metrics::Counter* idle_timeouts = nullptr;
    // Connections a side ended with a reset (RST), relayed to the other side as a reset:
    // [0] = the client reset, [1] = the upstream did.
    metrics::Counter* resets[2] = {};
    // [side][reason]: side 0 = the client codec, 1 = the upstream codec (labels listener, side,
    // codec, reason). Decode errors count against the side that sent the bytes, encode failures
    // against the side the frame was being written to.
    metrics::Counter* codec_errors[2][static_cast<int>(CodecErrorReason::count)] = {};
};

struct EndpointMetrics {
    metrics::Gauge* connections_active = nullptr;
    metrics::Counter* connect_attempts = nullptr;
    metrics::Counter* connect_failures[static_cast<int>(ConnectFailureReason::count)] = {};
    metrics::Histogram* connect_duration = nullptr;
    metrics::Counter* bytes_sent = nullptr;      // to the endpoint
    metrics::Counter* bytes_received = nullptr;  // from the endpoint
    // Set only for endpoints that a udp listener's sessions reach.
    metrics::Counter* datagrams_sent = nullptr;      // to the endpoint
    metrics::Counter* datagrams_received = nullptr;  // from the endpoint
};

// One per upstream (all its generations share the children).
struct UpstreamMetrics {
    // New connections that found no usable endpoint: [0] balanced over all (fail-open),
    // [1] rejected (when_all_down: reject).
    metrics::Counter* all_down[2] = {};
};

constexpr const char* to_string(CodecErrorReason r) {
    switch (r) {
        case CodecErrorReason::malformed: return "malformed";
        case CodecErrorReason::too_large: return "too_large";
        case CodecErrorReason::encode_failed: return "encode_failed";
        case CodecErrorReason::truncated: return "truncated";
        case CodecErrorReason::frame_timeout: return "frame_timeout";
        default: return "unknown";
    }
}

constexpr const char* to_string(RejectReason r) {
    switch (r) {
        case RejectReason::max_connections: return "max_connections";
        case RejectReason::upstream_unavailable: return "upstream_unavailable";
        case RejectReason::denied: return "denied";
        case RejectReason::rate_limit: return "rate_limit";
        case RejectReason::max_connections_per_ip: return "max_connections_per_ip";
        case RejectReason::first_byte_timeout: return "first_byte_timeout";
        case RejectReason::proxy_protocol_untrusted: return "proxy_protocol_untrusted";
        case RejectReason::proxy_protocol_invalid: return "proxy_protocol_invalid";
        case RejectReason::proxy_protocol_timeout: return "proxy_protocol_timeout";
        case RejectReason::no_healthy_endpoint: return "no_healthy_endpoint";
        default: return "unknown";
    }
}

constexpr const char* to_string(ConnectFailureReason r) {
    switch (r) {
        case ConnectFailureReason::refused: return "refused";
        case ConnectFailureReason::timeout: return "timeout";
        case ConnectFailureReason::unreachable: return "unreachable";
        case ConnectFailureReason::not_found: return "not_found";
        case ConnectFailureReason::permission_denied: return "permission_denied";
        default: return "other";
    }
}

}  // namespace switchyard
