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

enum class CodecErrorReason : std::uint8_t { malformed, too_large, encode_failed, count };
enum class ConnectFailureReason : std::uint8_t { refused, timeout, unreachable, other, count };

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
    // [side][reason]: side 0 = the client codec, 1 = the upstream codec (labels listener, codec, reason)
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

constexpr const char* to_string(CodecErrorReason r) {
    switch (r) {
        case CodecErrorReason::malformed: return "malformed";
        case CodecErrorReason::too_large: return "too_large";
        case CodecErrorReason::encode_failed: return "encode_failed";
        default: return "unknown";
    }
}

constexpr const char* to_string(ConnectFailureReason r) {
    switch (r) {
        case ConnectFailureReason::refused: return "refused";
        case ConnectFailureReason::timeout: return "timeout";
        case ConnectFailureReason::unreachable: return "unreachable";
        default: return "other";
    }
}

}  // namespace switchyard
