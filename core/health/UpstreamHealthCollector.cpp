#include "core/health/UpstreamHealthCollector.hpp"

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>

#include "core/health/EndpointHealth.hpp"

namespace switchyard {

void UpstreamHealthCollector::set(std::vector<Endpoint> endpoints) {
    std::lock_guard lock(mutex_);
    endpoints_ = std::move(endpoints);
}

std::vector<prometheus::MetricFamily> UpstreamHealthCollector::Collect() const {
    prometheus::MetricFamily healthy{"switchyard_upstream_endpoint_healthy",
                                     "1 while the endpoint takes new connections: its health checks pass (when it "
                                     "has them) and max_fails has not ejected it; else 0.",
                                     prometheus::MetricType::Gauge, {}};
    prometheus::MetricFamily checks{"switchyard_upstream_health_checks_total",
                                    "Active health checks of the endpoint, by result (success, connect_failed: "
                                    "no connection, or ICMP port unreachable for a UDP endpoint; timeout, "
                                    "bad_response).",
                                    prometheus::MetricType::Counter, {}};
    prometheus::MetricFamily ejections{"switchyard_upstream_ejections_total",
                                       "Times the endpoint was taken out of rotation, by cause: health_check "
                                       "(unhealthy_threshold failed checks) or max_fails (failed connects, or "
                                       "refused datagrams for a UDP endpoint).",
                                       prometheus::MetricType::Counter, {}};
    const auto now = steady_now_ns();
    std::lock_guard lock(mutex_);
    for (const Endpoint& e : endpoints_) {
        const EndpointHealth& h = *e.health;
        prometheus::ClientMetric up;
        up.label = {{"upstream", e.upstream}, {"endpoint", e.endpoint}};
        up.gauge.value = h.usable(now) ? 1 : 0;
        healthy.metric.push_back(std::move(up));
        // One counter sample per value of the family's third label.
        auto add = [&e](prometheus::MetricFamily& family, const char* label, const char* value, std::uint64_t count) {
            prometheus::ClientMetric sample;
            sample.label = {{"upstream", e.upstream}, {"endpoint", e.endpoint}, {label, value}};
            sample.counter.value = static_cast<double>(count);
            family.metric.push_back(std::move(sample));
        };
        if (e.checked)
            for (int r = 0; r < static_cast<int>(HealthCheckResult::count); ++r)
                add(checks, "result", to_string(static_cast<HealthCheckResult>(r)),
                    h.checks[r].load(std::memory_order_relaxed));
        for (int c = 0; c < static_cast<int>(EjectionCause::count); ++c)
            add(ejections, "cause", to_string(static_cast<EjectionCause>(c)), h.ejections[c].load(std::memory_order_relaxed));
    }
    return {std::move(healthy), std::move(checks), std::move(ejections)};
}

}  // namespace switchyard
