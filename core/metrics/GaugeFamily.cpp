#include "core/metrics/GaugeFamily.hpp"

#include <memory>

#include "core/metrics/SampleWriter.hpp"

namespace switchyard::metrics {

GaugeFamily::GaugeFamily(std::string name, std::string help,
                         std::vector<std::string> label_names, std::size_t shard_count)
    : MetricFamily(std::move(name), std::move(help), std::move(label_names), MetricType::gauge),
      shard_count_(shard_count) {}

Gauge& GaugeFamily::with(const std::vector<std::string>& label_values) {
    return children_.get_or_create(
        label_values, [&] { return std::make_unique<Gauge>(shard_count_); },
        [&](const std::vector<std::string>& values) { return render_labels(values); });
}

void GaugeFamily::write(SampleWriter& writer) const {
    writer.family(name(), help(), type());
    children_.for_each([&](const std::string& labels, const Gauge& gauge) {
        writer.rendered_sample(name(), "", labels, "", gauge.value());
    });
}

}  // namespace switchyard::metrics
