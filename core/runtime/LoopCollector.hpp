#pragma once
// Per-loop values read at scrape time rather than counted on the data path:
// switchyard_loop_busy_seconds_total{loop} (each loop thread's CPU clock) and
// switchyard_buffer_bytes{loop,state} (relay buffer memory borrowed and pooled).
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

namespace switchyard {

class LoopGroup;

class LoopCollector final : public prometheus::Collectable {
public:
    // `loops` must outlive this collector, and stay running while it is scraped (the thread
    // clocks belong to the loop threads): the runtime stops the admin endpoint first.
    explicit LoopCollector(const LoopGroup& loops) : loops_(loops) {}

    // Any thread (the scrape); reads counters the loops publish and their thread clocks.
    std::vector<prometheus::MetricFamily> Collect() const override;

private:
    const LoopGroup& loops_;
};

}  // namespace switchyard
