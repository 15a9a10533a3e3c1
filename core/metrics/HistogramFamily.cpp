#include "core/metrics/HistogramFamily.hpp"

#include <cmath>
#include <memory>
#include <stdexcept>

#include "core/metrics/SampleWriter.hpp"
#include "core/metrics/TextFormat.hpp"

namespace switchyard::metrics {

namespace {

std::vector<std::string> checked_label_names(const std::string& name,
                                             std::vector<std::string> label_names) {
    for (const auto& label : label_names) {
        if (label == "le") {
            throw std::invalid_argument("histogram " + name +
                                        ": label name 'le' is reserved for buckets");
        }
    }
    return label_names;
}

std::vector<double> checked_bounds(const std::string& name, std::vector<double> bounds) {
    if (!bounds.empty() && std::isinf(bounds.back()) && bounds.back() > 0) bounds.pop_back();
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        if (std::isnan(bounds[i]) || std::isinf(bounds[i])) {
            throw std::invalid_argument("histogram " + name +
                                        ": bucket bounds must be finite numbers");
        }
        if (i > 0 && !(bounds[i - 1] < bounds[i])) {
            throw std::invalid_argument("histogram " + name +
                                        ": bucket bounds must be strictly increasing");
        }
    }
    return bounds;
}

}  // namespace

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::vector<std::string> label_names,
                                 std::vector<double> bucket_bounds, std::size_t shard_count)
    : MetricFamily(name, std::move(help), checked_label_names(name, std::move(label_names)),
                   MetricType::histogram),
      shard_count_(shard_count),
      bounds_(checked_bounds(name, std::move(bucket_bounds))) {
    for (double bound : bounds_) {
        std::string le = "le=\"";
        text_format::append_double(le, bound);
        le += '"';
        le_labels_.push_back(std::move(le));
    }
    le_labels_.push_back("le=\"+Inf\"");
}

Histogram& HistogramFamily::with(const std::vector<std::string>& label_values) {
    return children_.get_or_create(
        label_values, [&] { return std::make_unique<Histogram>(shard_count_, bounds_); },
        [&](const std::vector<std::string>& values) { return render_labels(values); });
}

void HistogramFamily::write(SampleWriter& writer) const {
    writer.family(name(), help(), type());
    Histogram::Snapshot snapshot;  // reused across children
    children_.for_each([&](const std::string& labels, const Histogram& histogram) {
        histogram.snapshot_into(snapshot);
        for (std::size_t b = 0; b < le_labels_.size(); ++b) {
            writer.rendered_sample(name(), "_bucket", labels, le_labels_[b],
                                   snapshot.cumulative_counts[b]);
        }
        writer.rendered_sample(name(), "_sum", labels, "", snapshot.sum);
        writer.rendered_sample(name(), "_count", labels, "", snapshot.count());
    });
}

}  // namespace switchyard::metrics
