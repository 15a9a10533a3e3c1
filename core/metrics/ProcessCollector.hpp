#pragma once
// The standard process_* metrics of Prometheus client libraries, read from Linux /proc/self at
// every scrape: process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds, process_start_time_seconds.
// A value that cannot be read (no /proc) is left out rather than reported as 0.
#include "core/metrics/SampleWriter.hpp"

namespace switchyard::metrics {

class Registry;

class ProcessCollector {
public:
    // Writes the families. Any thread (reads /proc each call).
    void collect(SampleWriter& writer) const;

    // Adds a ProcessCollector to the registry's collectors. Any thread.
    static void add_to(Registry& registry);
};

}  // namespace switchyard::metrics
