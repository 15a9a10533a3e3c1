#include "core/runtime/MetricsCatalogue.hpp"

#include "core/metrics/ShardedMetrics.hpp"
#include "core/options/Options.hpp"

namespace switchyard {

MetricsCatalogue::MetricsCatalogue(metrics::ShardedMetrics& r) {
    listener_active_ = &r.gauge("switchyard_listener_connections_active",
                                "Client connections currently open on the listener.", {"listener"});
    listener_total_ = &r.counter("switchyard_listener_connections_total",
                                 "Client connections accepted and served by the listener.", {"listener"});
    listener_rejected_ = &r.counter(
        "switchyard_listener_connections_rejected_total",
        "Client connections closed without being served, by reason (max_connections, upstream_unavailable, denied, "
        "rate_limit, max_connections_per_ip, first_byte_timeout, proxy_protocol_untrusted, proxy_protocol_invalid, "
        "proxy_protocol_timeout, no_healthy_endpoint).",
        {"listener", "reason"});
    listener_bytes_received_ = &r.counter("switchyard_listener_bytes_received_total",
                                          "Bytes received from clients.", {"listener"});
    listener_bytes_sent_ = &r.counter("switchyard_listener_bytes_sent_total", "Bytes sent to clients.",
                                      {"listener"});
    listener_frames_received_ = &r.counter("switchyard_listener_frames_received_total",
                                           "Frames decoded from clients.", {"listener"});
    listener_frames_sent_ = &r.counter("switchyard_listener_frames_sent_total", "Frames sent to clients.",
                                       {"listener"});
    codec_errors_ = &r.counter("switchyard_codec_errors_total",
                               "Frames that could not be relayed, by the side whose codec failed (client, "
                               "upstream), codec and reason: malformed, too_large, encode_failed, frame_timeout "
                               "(each closes the connection), truncated (the stream ended inside a frame, which "
                               "was dropped).",
                               {"listener", "side", "codec", "reason"});
    idle_timeouts_ = &r.counter("switchyard_listener_idle_timeouts_total",
                                "Connections closed after idle_timeout without traffic.", {"listener"});
    resets_ = &r.counter("switchyard_listener_resets_total",
                         "Connections that one side ended with a reset (RST), by that side (client, upstream); "
                         "each is relayed to the other side as a reset.",
                         {"listener", "side"});
    upstream_active_ = &r.gauge("switchyard_upstream_connections_active",
                                "Connections currently open to the upstream endpoint.", {"upstream", "endpoint"});
    upstream_attempts_ = &r.counter("switchyard_upstream_connect_attempts_total",
                                    "Connection attempts to the upstream endpoint.", {"upstream", "endpoint"});
    upstream_failures_ = &r.counter("switchyard_upstream_connect_failures_total",
                                    "Failed connection attempts, by reason (refused, timeout, unreachable, not_found, "
                                    "permission_denied, other).",
                                    {"upstream", "endpoint", "reason"});
    upstream_connect_duration_ = &r.histogram(
        "switchyard_upstream_connect_duration_seconds", "Time to establish a connection to the endpoint.",
        {"upstream", "endpoint"}, {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5});
    upstream_bytes_sent_ = &r.counter("switchyard_upstream_bytes_sent_total", "Bytes sent to the endpoint.",
                                      {"upstream", "endpoint"});
    upstream_bytes_received_ = &r.counter("switchyard_upstream_bytes_received_total",
                                          "Bytes received from the endpoint.", {"upstream", "endpoint"});
    upstream_all_down_ = &r.counter("switchyard_upstream_all_down_total",
                                    "New connections that found no healthy endpoint of the upstream, by what "
                                    "when_all_down did with them (reject, fail-open).",
                                    {"upstream", "when_all_down"});
    udp_sessions_active_ = &r.gauge("switchyard_udp_sessions_active",
                                    "UDP sessions (client addresses) currently open on the listener.", {"listener"});
    udp_sessions_total_ = &r.counter("switchyard_udp_sessions_total", "UDP sessions opened by the listener.",
                                     {"listener"});
    udp_datagrams_received_ = &r.counter("switchyard_udp_datagrams_received_total",
                                         "Datagrams received from clients (oversize ones excluded).", {"listener"});
    udp_datagrams_sent_ = &r.counter("switchyard_udp_datagrams_sent_total", "Datagrams sent to clients.",
                                     {"listener"});
    udp_datagrams_dropped_ = &r.counter(
        "switchyard_udp_datagrams_dropped_total",
        "Datagrams not relayed, by reason (max_sessions, oversize, upstream_refused, send_buffer_full, send_error, "
        "handoff_full, codec_error, stream_down, denied, rate_limit, max_sessions_per_ip, draining).",
        {"listener", "reason"});
    upstream_datagrams_sent_ = &r.counter("switchyard_upstream_datagrams_sent_total",
                                          "Datagrams sent to the endpoint.", {"upstream", "endpoint"});
    upstream_datagrams_received_ = &r.counter("switchyard_upstream_datagrams_received_total",
                                              "Datagrams received from the endpoint.", {"upstream", "endpoint"});
    loop_ticks_ = &r.counter("switchyard_loop_ticks_total", "Ticks run by the event loop.", {"loop"});
    loop_lag_ = &r.histogram("switchyard_loop_lag_seconds",
                             "How late each tick fired: the measure of a saturated loop.", {"loop"},
                             {0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1});
    loop_active_ = &r.gauge("switchyard_loop_connections_active", "Connections hosted by the event loop.",
                            {"loop"});
}

ListenerMetrics MetricsCatalogue::listener(const ListenerOptions& o, const std::string& client_codec,
                                           const std::string& upstream_codec) {
    const std::string& name = o.name;
    ListenerMetrics m;
    m.connections_active = &listener_active_->with({name});
    m.connections_total = &listener_total_->with({name});
    // Every listener shows the two reasons any listener can meet; the others appear (at 0) on
    // the listeners whose options can produce them. A udp listener counts the datagrams its
    // access rules and rate_limit refuse in switchyard_udp_datagrams_dropped_total instead.
    const bool accepts_proxy = o.proxy_protocol == ProxyProtocolMode::accept;
    const bool stream = !o.datagram();
    const bool possible[] = {
        true,                                       // max_connections
        true,                                       // upstream_unavailable
        stream && !o.access.empty(),                // denied
        stream && o.rate_limit.per_second > 0,      // rate_limit
        o.max_connections_per_ip > 0,               // max_connections_per_ip
        o.first_byte_timeout.count() > 0,           // first_byte_timeout
        accepts_proxy && !o.trusted_sources.empty(),  // proxy_protocol_untrusted
        accepts_proxy,                              // proxy_protocol_invalid
        accepts_proxy,                              // proxy_protocol_timeout
        o.handler == Handler::none,                 // no_healthy_endpoint (when_all_down: reject)
    };
    static_assert(std::size(possible) == static_cast<std::size_t>(RejectReason::count));
    for (int r = 0; r < static_cast<int>(RejectReason::count); ++r)
        if (possible[r]) m.rejected[r] = &listener_rejected_->with({name, to_string(static_cast<RejectReason>(r))});
    m.bytes_received = &listener_bytes_received_->with({name});
    m.bytes_sent = &listener_bytes_sent_->with({name});
    m.frames_received = &listener_frames_received_->with({name});
    m.frames_sent = &listener_frames_sent_->with({name});
    m.idle_timeouts = &idle_timeouts_->with({name});
    m.resets[0] = &resets_->with({name, "client"});
    m.resets[1] = &resets_->with({name, "upstream"});
    const std::string* codecs[2] = {&client_codec, &upstream_codec};
    const char* sides[2] = {"client", "upstream"};
    for (int side = 0; side < 2; ++side) {
        if (codecs[side]->empty()) continue;
        for (int r = 0; r < static_cast<int>(CodecErrorReason::count); ++r)
            m.codec_errors[side][r] =
                &codec_errors_->with({name, sides[side], *codecs[side], to_string(static_cast<CodecErrorReason>(r))});
    }
    return m;
}

EndpointMetrics MetricsCatalogue::endpoint(const std::string& upstream, const std::string& endpoint) {
    EndpointMetrics m;
    m.connections_active = &upstream_active_->with({upstream, endpoint});
    m.connect_attempts = &upstream_attempts_->with({upstream, endpoint});
    for (int r = 0; r < static_cast<int>(ConnectFailureReason::count); ++r)
        m.connect_failures[r] =
            &upstream_failures_->with({upstream, endpoint, to_string(static_cast<ConnectFailureReason>(r))});
    m.connect_duration = &upstream_connect_duration_->with({upstream, endpoint});
    m.bytes_sent = &upstream_bytes_sent_->with({upstream, endpoint});
    m.bytes_received = &upstream_bytes_received_->with({upstream, endpoint});
    return m;
}

UpstreamMetrics MetricsCatalogue::upstream(const std::string& name) {
    UpstreamMetrics m;
    m.all_down[0] = &upstream_all_down_->with({name, to_string(WhenAllDown::fail_open)});
    m.all_down[1] = &upstream_all_down_->with({name, to_string(WhenAllDown::reject)});
    return m;
}

DatagramListenerMetrics MetricsCatalogue::datagram_listener(const ListenerOptions& o) {
    const std::string& name = o.name;
    DatagramListenerMetrics m;
    m.sessions_active = &udp_sessions_active_->with({name});
    m.sessions_total = &udp_sessions_total_->with({name});
    m.datagrams_received = &udp_datagrams_received_->with({name});
    m.datagrams_sent = &udp_datagrams_sent_->with({name});
    // Every reason the datagram path can meet, and the admission ones where the listener's
    // options can produce them (as connections_rejected_total's reasons).
    for (int r = 0; r < static_cast<int>(DatagramDropReason::count); ++r) {
        const auto reason = static_cast<DatagramDropReason>(r);
        const bool possible = reason == DatagramDropReason::denied         ? o.datagram() && !o.access.empty()
                              : reason == DatagramDropReason::rate_limit   ? o.datagram() && o.rate_limit.per_second > 0
                              : reason == DatagramDropReason::max_sessions_per_ip ? o.max_sessions_per_ip > 0
                              : reason == DatagramDropReason::draining            ? o.datagram()
                                                                                  : true;
        if (possible) m.dropped[r] = &udp_datagrams_dropped_->with({name, to_string(reason)});
    }
    return m;
}

void MetricsCatalogue::endpoint_datagrams(EndpointMetrics& m, const std::string& upstream, const std::string& endpoint) {
    m.datagrams_sent = &upstream_datagrams_sent_->with({upstream, endpoint});
    m.datagrams_received = &upstream_datagrams_received_->with({upstream, endpoint});
}

LoopMetrics MetricsCatalogue::loop(std::size_t index) {
    LoopMetrics m;
    std::string i = std::to_string(index);
    m.ticks = &loop_ticks_->with({i});
    m.lag = &loop_lag_->with({i});
    m.connections_active = &loop_active_->with({i});
    return m;
}

}  // namespace switchyard
