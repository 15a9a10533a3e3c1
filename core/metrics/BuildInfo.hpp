#pragma once
// `switchyard_build_info{version="0.1.0"} 1`: the conventional info metric that lets dashboards
// and alerts join on the running version. A plain prometheus-cpp gauge: it never changes.
#include <string>
#include <string_view>

namespace prometheus {
class Registry;
}

namespace switchyard::metrics {

// The version this library was built as (the CMake project version). Any thread.
std::string_view build_version();

// Registers the switchyard_build_info gauge in `registry`, set to 1. Any thread.
void add_build_info(prometheus::Registry& registry,
                    const std::string& version = std::string(build_version()));

}  // namespace switchyard::metrics
