#pragma once
// The metrics of one daemon: families registered by name, scrape-time collectors, and the text
// the exporter serves. Modelled on prometheus-cpp's Registry/Family, without its lock on the data
// path: every counter, gauge and histogram has one shard per loop thread (shard index = loop
// index), written only by that loop and summed here when scraped.
//
//     Registry registry(loop_count);
//     auto& accepted = registry.counter("switchyard_connections_accepted_total",
//                                       "Connections accepted.", {"listener"});
//     Counter& web = accepted.with({"web"});   // control thread, at start-up
//     web.inc(loop_index);                      // loop thread, per connection
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/metrics/CounterFamily.hpp"
#include "core/metrics/GaugeFamily.hpp"
#include "core/metrics/HistogramFamily.hpp"
#include "core/metrics/SampleWriter.hpp"

namespace switchyard::metrics {

class Registry {
public:
    using Collector = std::function<void(SampleWriter&)>;

    // One shard per loop thread; shard_count must be at least 1 (std::invalid_argument).
    explicit Registry(std::size_t shard_count);
    ~Registry();
    Registry(const Registry&) = delete;
    Registry& operator=(const Registry&) = delete;

    // Any thread.
    std::size_t shard_count() const { return shard_count_; }

    // Registers a family, or returns the one already registered under that name when type, label
    // names (and bucket bounds) match; throws std::invalid_argument when they differ or a name is
    // invalid. Families live as long as the registry and print in registration order. Any thread
    // (takes a mutex: start-up or first use, not the data path).
    CounterFamily& counter(std::string name, std::string help,
                           std::vector<std::string> label_names = {});
    GaugeFamily& gauge(std::string name, std::string help,
                       std::vector<std::string> label_names = {});
    HistogramFamily& histogram(std::string name, std::string help,
                               std::vector<std::string> label_names,
                               std::vector<double> bucket_bounds);

    // Adds a function called at every scrape, after the families, to write values computed on
    // demand (process_*, build info). It writes whole families (HELP, TYPE, samples) with the
    // SampleWriter, runs on the scraping thread and must not register metrics. Any thread.
    void add_collector(Collector collector);

    // The Prometheus text format 0.0.4 of every family (those with no children yet print only
    // HELP and TYPE) and every collector. Any thread; concurrent scrapes are fine.
    std::string serialize() const;
    // Same, appended to `out` so a caller can reuse its buffer. Any thread.
    void serialize_into(std::string& out) const;

private:
    MetricFamily* find_locked(const std::string& name, MetricType type,
                              const std::vector<std::string>& label_names) const;

    const std::size_t shard_count_;
    mutable std::mutex mutex_;  // guards the two lists; children have their own
    std::vector<std::unique_ptr<MetricFamily>> families_;
    std::vector<std::shared_ptr<const Collector>> collectors_;
    mutable std::size_t last_size_ = 0;  // guarded by mutex_; sizes the next scrape's buffer
};

}  // namespace switchyard::metrics
