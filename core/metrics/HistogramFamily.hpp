#pragma once
// A histogram family: one Histogram per set of label values, all with the family's bucket bounds.
#include <cstddef>
#include <string>
#include <vector>

#include "core/metrics/Histogram.hpp"
#include "core/metrics/LabeledChildren.hpp"
#include "core/metrics/MetricFamily.hpp"

namespace switchyard::metrics {

class HistogramFamily final : public MetricFamily {
public:
    // `bucket_bounds` are the buckets' inclusive upper bounds, strictly increasing and not NaN; a
    // trailing +Inf is dropped (the +Inf bucket is always there). Throws std::invalid_argument
    // otherwise, or when a label is named "le".
    HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                    std::vector<double> bucket_bounds, std::size_t shard_count);

    // The child for these label values; same contract as CounterFamily::with. Any thread.
    Histogram& with(const std::vector<std::string>& label_values);

    // Any thread (immutable after construction).
    const std::vector<double>& bucket_bounds() const { return bounds_; }

    void write(SampleWriter& writer) const override;
    std::size_t child_count() const override { return children_.size(); }

private:
    std::size_t shard_count_;
    std::vector<double> bounds_;
    std::vector<std::string> le_labels_;  // `le="0.5"` per bound, then `le="+Inf"`
    LabeledChildren<Histogram> children_;
};

}  // namespace switchyard::metrics
