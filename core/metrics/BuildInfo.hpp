#pragma once
// `switchyard_build_info{version="0.1.0"} 1`: the conventional info metric that lets dashboards
// and alerts join on the running version.
#include <string>
#include <string_view>

namespace switchyard::metrics {

class Registry;

// The version this library was built as (the CMake project version). Any thread.
std::string_view build_version();

// Adds a collector writing the switchyard_build_info gauge. Any thread.
void add_build_info(Registry& registry, std::string version = std::string(build_version()));

}  // namespace switchyard::metrics
