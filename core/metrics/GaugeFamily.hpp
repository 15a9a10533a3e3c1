#pragma once
// A gauge family: one Gauge per set of label values.
#include <cstddef>
#include <string>
#include <vector>

#include "core/metrics/Gauge.hpp"
#include "core/metrics/LabeledChildren.hpp"
#include "core/metrics/MetricFamily.hpp"

namespace switchyard::metrics {

class GaugeFamily final : public MetricFamily {
public:
    GaugeFamily(std::string name, std::string help, std::vector<std::string> label_names,
                std::size_t shard_count);

    // The child for these label values (in label-name order), created on first use; the same
    // values give the same child, and the reference stays valid as long as the registry. Any
    // thread; takes a mutex, so look children up at start-up or first use and keep the reference.
    // Throws std::invalid_argument when the number of values is wrong.
    Gauge& with(const std::vector<std::string>& label_values);

    void write(SampleWriter& writer) const override;
    std::size_t child_count() const override { return children_.size(); }

private:
    std::size_t shard_count_;
    LabeledChildren<Gauge> children_;
};

}  // namespace switchyard::metrics
