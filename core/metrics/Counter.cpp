#include "core/metrics/Counter.hpp"

#include <prometheus/client_metric.h>

namespace switchyard::metrics {

Counter::Counter(std::size_t shard_count)
    : shard_count_(shard_count), shards_(new ShardCell<std::uint64_t>[shard_count]) {}

std::uint64_t Counter::value() const {
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < shard_count_; ++i) {
        total += shards_[i].value.load(std::memory_order_relaxed);
    }
    return total;
}

void Counter::collect(prometheus::ClientMetric& out) const {
    out.counter.value = static_cast<double>(value());
}

}  // namespace switchyard::metrics
