#include "core/metrics/MetricFamily.hpp"

#include <algorithm>
#include <stdexcept>

#include "core/metrics/TextFormat.hpp"

namespace switchyard::metrics {

MetricFamily::MetricFamily(std::string name, std::string help,
                           std::vector<std::string> label_names, MetricType type)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)),
      type_(type) {
    if (!text_format::is_valid_metric_name(name_)) {
        throw std::invalid_argument("metric name '" + name_ +
                                    "' is not valid (want [a-zA-Z_:][a-zA-Z0-9_:]*)");
    }
    for (std::size_t i = 0; i < label_names_.size(); ++i) {
        const std::string& label = label_names_[i];
        if (!text_format::is_valid_label_name(label)) {
            throw std::invalid_argument("metric " + name_ + ": label name '" + label +
                                        "' is not valid (want [a-zA-Z_][a-zA-Z0-9_]*, no "
                                        "leading __)");
        }
        if (std::find(label_names_.begin(), label_names_.begin() + static_cast<long>(i),
                      label) != label_names_.begin() + static_cast<long>(i)) {
            throw std::invalid_argument("metric " + name_ + ": label name '" + label +
                                        "' appears twice");
        }
    }
}

std::string MetricFamily::render_labels(const std::vector<std::string>& values) const {
    if (values.size() != label_names_.size()) {
        throw std::invalid_argument("metric " + name_ + ": got " +
                                    std::to_string(values.size()) + " label values for " +
                                    std::to_string(label_names_.size()) + " label names");
    }
    std::string text;
    text_format::append_label_pairs(text, label_names_, values);
    return text;
}

}  // namespace switchyard::metrics
