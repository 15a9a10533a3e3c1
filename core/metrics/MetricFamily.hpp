#pragma once
// What every family has: a name, help text, a type and the names of its labels; and a way to write
// itself (HELP, TYPE, then every child's samples) at scrape time.
#include <cstddef>
#include <string>
#include <vector>

#include "core/metrics/MetricType.hpp"

namespace switchyard::metrics {

class SampleWriter;

class MetricFamily {
public:
    // Throws std::invalid_argument on a name or label name Prometheus would refuse, or a label
    // name repeated.
    MetricFamily(std::string name, std::string help, std::vector<std::string> label_names,
                 MetricType type);
    virtual ~MetricFamily() = default;
    MetricFamily(const MetricFamily&) = delete;
    MetricFamily& operator=(const MetricFamily&) = delete;

    // Any thread (immutable after construction).
    const std::string& name() const { return name_; }
    const std::string& help() const { return help_; }
    const std::vector<std::string>& label_names() const { return label_names_; }
    MetricType type() const { return type_; }

    // Writes HELP, TYPE and the samples of every child. Any thread.
    virtual void write(SampleWriter& writer) const = 0;
    // Number of label sets created so far. Any thread.
    virtual std::size_t child_count() const = 0;

protected:
    // Renders `values` as escaped label text; throws std::invalid_argument when their number
    // differs from the label names'.
    std::string render_labels(const std::vector<std::string>& values) const;

private:
    std::string name_;
    std::string help_;
    std::vector<std::string> label_names_;
    MetricType type_;
};

}  // namespace switchyard::metrics
