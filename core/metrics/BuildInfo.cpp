#include "core/metrics/BuildInfo.hpp"

#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#ifndef SWITCHYARD_VERSION
#define SWITCHYARD_VERSION "unknown"
#endif

namespace switchyard::metrics {

std::string_view build_version() { return SWITCHYARD_VERSION; }

void add_build_info(prometheus::Registry& registry, const std::string& version) {
    prometheus::BuildGauge()
        .Name("switchyard_build_info")
        .Help("A metric with a constant '1' value labeled by the version switchyard was built from.")
        .Register(registry)
        .Add({{"version", version}})
        .Set(1);
}

}  // namespace switchyard::metrics
