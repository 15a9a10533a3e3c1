#include "core/metrics/Gauge.hpp"

#include <prometheus/client_metric.h>

namespace switchyard::metrics {

Gauge::Gauge(std::size_t shard_count)
    : shard_count_(shard_count), shards_(new ShardCell<double>[shard_count]) {}

double Gauge::value() const {
    double total = 0;
    for (std::size_t i = 0; i < shard_count_; ++i) {
        total += shards_[i].value.load(std::memory_order_relaxed);
    }
    return total;
}

void Gauge::collect(prometheus::ClientMetric& out) const { out.gauge.value = value(); }

}  // namespace switchyard::metrics
