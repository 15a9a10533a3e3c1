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
enum class ConnectFailureReason : std::uint8_t {
    refused, timeout, unreachable, not_found, permission_denied, other, count
};

struct ListenerMetrics {
    metrics::Gauge* connections_active = nullptr;
    metrics::Counter* connections_total = nullptr;
    metrics::Counter* rejected_max_connections = nullptr;
    metrics::Counter* rejected_upstream_unavailable = nullptr;
    metrics::Counter* bytes_received = nullptr;  // from clients
    metrics::Counter* bytes_sent = nullptr;      // to clients
    metrics::Counter* frames_received = nullptr; // decoded from clients
    metrics::Counter* frames_sent = nullptr;     // encoded to clients
    metrics::Counter* idle_timeouts = nullptr;
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
