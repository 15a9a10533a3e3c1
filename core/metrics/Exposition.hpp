#pragma once
// What /metrics serves: an ordered set of prometheus::Collectable (prometheus-cpp's Registry for
// plain families, ShardedMetrics for the loops' shards, the process and loop collectors), and
// their text through prometheus-cpp's TextSerializer (format 0.0.4). It plays the part of
// prometheus-cpp's Exposer minus the HTTP server, which is the admin endpoint's
// (core/admin/AdminServer.hpp).
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

namespace switchyard::metrics {

class Exposition {
public:
    // Appends a collectable; it is collected after those added before it, and kept alive as long
    // as this object. Any thread.
    void add(std::shared_ptr<const prometheus::Collectable> collectable);

    // Every collectable's families, in the order they were added. Any thread; concurrent calls
    // are fine. Throws what a collectable throws (a scrape answers 500 with it).
    std::vector<prometheus::MetricFamily> collect() const;

    // collect() in the Prometheus text format 0.0.4. Any thread.
    std::string serialize() const;

private:
    mutable std::mutex mutex_;  // guards the list, not the collection
    std::vector<std::shared_ptr<const prometheus::Collectable>> collectables_;
};

}  // namespace switchyard::metrics
