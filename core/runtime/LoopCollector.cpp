#include "core/runtime/LoopCollector.hpp"

#include <string>

#include <prometheus/client_metric.h>

#include "core/loop/LoopGroup.hpp"

namespace switchyard {

namespace {

prometheus::ClientMetric gauge_sample(std::vector<prometheus::ClientMetric::Label> labels, double value) {
    prometheus::ClientMetric sample;
    sample.label = std::move(labels);
    sample.gauge.value = value;
    return sample;
}

}  // namespace

std::vector<prometheus::MetricFamily> LoopCollector::Collect() const {
    prometheus::MetricFamily busy{"switchyard_loop_busy_seconds_total",
                                  "CPU time the event loop thread has used: a loop near 1 s/s is saturated.",
                                  prometheus::MetricType::Counter, {}};
    prometheus::MetricFamily buffers{
        "switchyard_buffer_bytes",
        "Relay buffer memory of the loop: lent to connections with data in flight, or pooled for reuse.",
        prometheus::MetricType::Gauge, {}};
    for (std::size_t i = 0; i < loops_.size(); ++i) {
        const EventLoop& loop = loops_.at(i);
        const std::string index = std::to_string(i);
        prometheus::ClientMetric cpu;
        cpu.label = {{"loop", index}};
        cpu.counter.value = loop.cpu_seconds();
        busy.metric.push_back(std::move(cpu));
        buffers.metric.push_back(gauge_sample({{"loop", index}, {"state", "borrowed"}},
                                              static_cast<double>(loop.buffer_bytes_borrowed())));
        buffers.metric.push_back(gauge_sample({{"loop", index}, {"state", "pooled"}},
                                              static_cast<double>(loop.buffer_bytes_pooled())));
    }
    return {std::move(busy), std::move(buffers)};
}

}  // namespace switchyard
