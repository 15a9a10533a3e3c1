#pragma once
// The per-loop sharded metric families of one runtime, exposed to prometheus-cpp as a single
// prometheus::Collectable (the interface prometheus-cpp's own Registry implements, and the one
// its Exposer and serializers consume). Everything a loop updates per connection, byte or frame
// lives here: single-writer shards, no lock and no read-modify-write on the data path, summed
// when scraped. Rarely changing metrics (build info, loop count) are plain prometheus-cpp
// families in a prometheus::Registry instead.
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <prometheus/collectable.h>

#include "core/metrics/Counter.hpp"
#include "core/metrics/Gauge.hpp"
#include "core/metrics/Histogram.hpp"
#include "core/metrics/ShardedFamily.hpp"

namespace switchyard::metrics {

class ShardedMetrics final : public prometheus::Collectable {
public:
    // One shard per loop thread; shard_count must be at least 1 (std::invalid_argument).
    explicit ShardedMetrics(std::size_t shard_count);
    ~ShardedMetrics() override;
    ShardedMetrics(const ShardedMetrics&) = delete;
    ShardedMetrics& operator=(const ShardedMetrics&) = delete;

    // Any thread.
    std::size_t shard_count() const { return shard_count_; }

    // Registers a family; it lives as long as this object and is collected in registration
    // order. Throws std::invalid_argument on a name or label name Prometheus would refuse
    // (prometheus::CheckMetricName / CheckLabelName), a repeated label name, or a name already
    // registered. Any thread (takes a mutex: runtime construction, not the data path).
    ShardedFamily<Counter>& counter(std::string name, std::string help,
                                    std::vector<std::string> label_names = {});
    ShardedFamily<Gauge>& gauge(std::string name, std::string help,
                                std::vector<std::string> label_names = {});
    // `bucket_bounds` are the buckets' inclusive upper bounds, strictly increasing and finite; a
    // trailing +Inf is dropped (the +Inf bucket is always there). No label may be named "le".
    ShardedFamily<Histogram>& histogram(std::string name, std::string help,
                                        std::vector<std::string> label_names,
                                        std::vector<double> bucket_bounds);

    // Every family with its children's sums. Any thread; concurrent scrapes are fine.
    std::vector<prometheus::MetricFamily> Collect() const override;

private:
    void check_new(const std::string& name, const std::vector<std::string>& label_names) const;
    template <class Metric>
    ShardedFamily<Metric>& add(std::string name, std::string help, prometheus::MetricType type,
                               std::vector<std::string> label_names,
                               typename ShardedFamily<Metric>::Factory make);

    const std::size_t shard_count_;
    mutable std::mutex mutex_;  // guards the list; children have their own
    std::vector<std::unique_ptr<ShardedFamilyBase>> families_;
    std::vector<std::unique_ptr<std::vector<double>>> bounds_;  // histogram bounds, kept for life
};

}  // namespace switchyard::metrics
