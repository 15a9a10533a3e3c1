#pragma once
// What one configuration builds, beside the loops that outlive it: upstream pools (endpoints,
// balancers, health), the listener contexts (options, codecs, metric children) and the endpoint
// metric children. A reload builds the next generation beside the current one and switches
// the listeners to it; every open session keeps the context it started with, so the retired
// generation is kept until its last session ends (ListenerContext::active back to 0), then
// freed. Owned by Runtime; control thread only, except what ListenerContext says of itself.
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/health/HealthChecker.hpp"
#include "core/options/Options.hpp"
#include "core/proxy/ListenerContext.hpp"
#include "core/proxy/ProxyMetrics.hpp"
#include "core/proxy/UpstreamPool.hpp"

namespace switchyard {

struct Generation {
    Options options;
    std::vector<std::unique_ptr<UpstreamPool>> upstreams;
    std::vector<std::unique_ptr<EndpointMetrics>> endpoint_metrics;
    std::vector<std::unique_ptr<UpstreamMetrics>> upstream_metrics;
    std::vector<std::unique_ptr<ListenerContext>> contexts;  // in options.listeners order

    // The active health checks of its pools, while it is the current generation: started when
    // it becomes current (Runtime::start, Runtime::reload), destroyed (stopped) when a reload
    // retires it or the runtime stops, so a replaced pool is never checked.
    std::unique_ptr<HealthCheckRun> health_checks;

    // Set when a reload retires this generation.
    std::chrono::steady_clock::time_point retired_at{};
    // Contexts of listeners the reload removed: their sessions drain for up to
    // shutdown_timeout, then are closed. (Sessions of kept listeners run on untouched.)
    std::vector<const void*> removed;
    bool removed_closed = false;
    // Holds the contexts of udp listeners, which keep the configuration they started with until
    // a restart: never freed before the runtime stops.
    bool pinned = false;

    // Sessions still open on any of this generation's contexts. Any thread.
    std::int64_t open_sessions() const {
        std::int64_t n = 0;
        for (const auto& c : contexts) n += c->active.load(std::memory_order_relaxed);
        return n;
    }
};

}  // namespace switchyard
