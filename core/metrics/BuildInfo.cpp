#include "core/metrics/BuildInfo.hpp"

#include "core/metrics/Registry.hpp"

#ifndef SWITCHYARD_VERSION
#define SWITCHYARD_VERSION "unknown"
#endif

namespace switchyard::metrics {

std::string_view build_version() { return SWITCHYARD_VERSION; }

void add_build_info(Registry& registry, std::string version) {
    registry.add_collector([labels = Labels{{"version", std::move(version)}}](SampleWriter& writer) {
        writer.family("switchyard_build_info",
                      "A metric with a constant '1' value labeled by the version switchyard was "
                      "built from.",
                      MetricType::gauge);
        writer.sample("switchyard_build_info", labels, 1);
    });
}

}  // namespace switchyard::metrics
