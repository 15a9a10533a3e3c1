#pragma once
// The standard process_* metrics of Prometheus client libraries, read from Linux /proc/self at
// every scrape: process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds, process_start_time_seconds
// (names, help and meaning as client_golang's process collector). A value that cannot be read
// (no /proc) is left out rather than reported as 0. prometheus-cpp 1.0 has no such collector.
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

namespace switchyard::metrics {

class ProcessCollector final : public prometheus::Collectable {
public:
    // Reads /proc each call. Any thread.
    std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace switchyard::metrics
