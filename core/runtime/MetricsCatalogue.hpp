#pragma once
// Every metric family Switchyard exports, declared in one place (Envoy's "all stats of a
// component in one list"), and the children each listener, endpoint and loop updates.
// Names follow https://prometheus.io/docs/practices/naming/ and stay stable once shipped.
#include <cstddef>
#include <string>

#include "core/options/Options.hpp"
#include "core/proxy/ProxyMetrics.hpp"
#include "core/proxy/datagram/DatagramMetrics.hpp"

namespace switchyard::metrics {
class ShardedMetrics;
template <class Metric>
class ShardedFamily;
using CounterFamily = ShardedFamily<Counter>;
using GaugeFamily = ShardedFamily<Gauge>;
using HistogramFamily = ShardedFamily<Histogram>;
}  // namespace switchyard::metrics

namespace switchyard {

struct LoopMetrics {
    metrics::Counter* ticks = nullptr;
    metrics::Histogram* lag = nullptr;
    metrics::Gauge* connections_active = nullptr;
    // Busy time is not here: a collector reads each loop thread's CPU clock at scrape time.
};

class MetricsCatalogue {
public:
    // Control thread: registers every family in `sharded` (which must outlive this).
    explicit MetricsCatalogue(metrics::ShardedMetrics& sharded);

    // Control thread: children for one listener. Codec names are "" for a side without one: both
    // when raw, the upstream one for a handler listener (it has no upstream side).
    ListenerMetrics listener(const ListenerOptions& options, const std::string& client_codec,
                             const std::string& upstream_codec);
    EndpointMetrics endpoint(const std::string& upstream, const std::string& endpoint);
    UpstreamMetrics upstream(const std::string& name);
    // Control thread: children for a udp listener (or a stream listener bridged to a UDP
    // upstream), and the datagram counters of an endpoint such a listener reaches (filled into
    // `m`). The admission drop reasons appear on the udp listeners that set their keys.
    DatagramListenerMetrics datagram_listener(const ListenerOptions& options);
    void endpoint_datagrams(EndpointMetrics& m, const std::string& upstream, const std::string& endpoint);
    LoopMetrics loop(std::size_t index);

private:
    metrics::GaugeFamily* listener_active_;
    metrics::CounterFamily* listener_total_;
    metrics::CounterFamily* listener_rejected_;
    metrics::CounterFamily* listener_bytes_received_;
    metrics::CounterFamily* listener_bytes_sent_;
    metrics::CounterFamily* listener_frames_received_;
    metrics::CounterFamily* listener_frames_sent_;
    metrics::CounterFamily* codec_errors_;
    metrics::CounterFamily* idle_timeouts_;
    metrics::CounterFamily* resets_;
    metrics::CounterFamily* upstream_all_down_;
    metrics::GaugeFamily* upstream_active_;
    metrics::CounterFamily* upstream_attempts_;
    metrics::CounterFamily* upstream_failures_;
    metrics::HistogramFamily* upstream_connect_duration_;
    metrics::CounterFamily* upstream_bytes_sent_;
    metrics::CounterFamily* upstream_bytes_received_;
    metrics::GaugeFamily* udp_sessions_active_;
    metrics::CounterFamily* udp_sessions_total_;
    metrics::CounterFamily* udp_datagrams_received_;
    metrics::CounterFamily* udp_datagrams_sent_;
    metrics::CounterFamily* udp_datagrams_dropped_;
    metrics::CounterFamily* upstream_datagrams_sent_;
    metrics::CounterFamily* upstream_datagrams_received_;
    metrics::CounterFamily* loop_ticks_;
    metrics::HistogramFamily* loop_lag_;
    metrics::GaugeFamily* loop_active_;
};

}  // namespace switchyard
