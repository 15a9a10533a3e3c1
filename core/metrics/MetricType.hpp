#pragma once
// The metric types of the Prometheus text exposition format 0.0.4.
#include <string_view>

namespace switchyard::metrics {

enum class MetricType { counter, gauge, histogram, untyped };

// The word written on a `# TYPE` line. Pure; any thread.
constexpr std::string_view type_word(MetricType type) {
    switch (type) {
        case MetricType::counter: return "counter";
        case MetricType::gauge: return "gauge";
        case MetricType::histogram: return "histogram";
        case MetricType::untyped: return "untyped";
    }
    return "untyped";
}

}  // namespace switchyard::metrics
