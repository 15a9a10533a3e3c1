#pragma once
// The health of the current configuration's endpoints, read at scrape time (a
// prometheus::Collectable, as the loop and process collectors are):
//   switchyard_upstream_endpoint_healthy{upstream,endpoint}           1 = takes new connections
//   switchyard_upstream_health_checks_total{upstream,endpoint,result} upstreams with health_check only
//   switchyard_upstream_ejections_total{upstream,endpoint,cause}
// Only endpoints of the configuration now running are listed: one that a reload removed
// disappears from the next scrape (its series go stale in Prometheus) rather than staying at
// its last value. An endpoint a reload keeps keeps its counters (its EndpointHealth is shared).
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <prometheus/collectable.h>

namespace switchyard {

struct EndpointHealth;

class UpstreamHealthCollector final : public prometheus::Collectable {
public:
    struct Endpoint {
        std::string upstream;
        std::string endpoint;
        std::shared_ptr<const EndpointHealth> health;
        bool checked = false;  // its upstream has active health checks
    };

    // Control thread: the endpoints of the configuration now running (replaces the last list).
    void set(std::vector<Endpoint> endpoints);

    // Any thread (the scrape).
    std::vector<prometheus::MetricFamily> Collect() const override;

private:
    mutable std::mutex mutex_;
    std::vector<Endpoint> endpoints_;
};

}  // namespace switchyard
