#pragma once
// A family of per-loop sharded metrics (Counter, Gauge or Histogram from this room): one child per
// set of label values, created on first use and kept for the family's life, so the data path
// holds a plain reference and never looks a child up. At scrape time the family becomes a
// prometheus::MetricFamily (prometheus-cpp owns the model and the text format); this class only
// adds what prometheus::Family<T> cannot give: children whose updates are single-writer shard
// stores instead of prometheus-cpp's atomic compare-and-swap.
//
//     auto& accepted = sharded.counter("switchyard_listener_connections_total", "…", {"listener"});
//     Counter& web = accepted.with({"web"});  // control thread, when the runtime is built
//     web.inc(loop_index);                     // loop thread, per connection
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>

namespace switchyard::metrics {

// What ShardedMetrics keeps of every family, whatever its metric type.
class ShardedFamilyBase {
public:
    virtual ~ShardedFamilyBase() = default;
    // Any thread (immutable after construction).
    const std::string& name() const { return name_; }
    // Appends this family with every child's summed value. Any thread (the scrape).
    virtual void collect_into(std::vector<prometheus::MetricFamily>& out) const = 0;

protected:
    ShardedFamilyBase(std::string name, std::string help, prometheus::MetricType type,
                      std::vector<std::string> label_names)
        : name_(std::move(name)), help_(std::move(help)), type_(type),
          label_names_(std::move(label_names)) {}
    std::string name_;
    std::string help_;
    prometheus::MetricType type_;
    std::vector<std::string> label_names_;
};

template <class Metric>
class ShardedFamily final : public ShardedFamilyBase {
public:
    using Factory = std::function<std::unique_ptr<Metric>()>;

    // Names are checked by ShardedMetrics, which is the only maker.
    ShardedFamily(std::string name, std::string help, prometheus::MetricType type,
                  std::vector<std::string> label_names, Factory make)
        : ShardedFamilyBase(std::move(name), std::move(help), type, std::move(label_names)),
          make_(std::move(make)) {}

    // The child for these label values (in label-name order), created on first use; the same
    // values give the same child, and the reference stays valid as long as the family. Any
    // thread; takes a mutex, so look children up when the runtime is built and keep the reference.
    // Throws std::invalid_argument when the number of values is wrong.
    Metric& with(const std::vector<std::string>& label_values) {
        if (label_values.size() != label_names_.size()) {
            throw std::invalid_argument("metric " + name_ + " takes " +
                                        std::to_string(label_names_.size()) + " label values, not " +
                                        std::to_string(label_values.size()));
        }
        std::lock_guard lock(mutex_);
        auto found = children_.find(label_values);
        if (found != children_.end()) return *found->second.metric;
        Child child;
        for (std::size_t i = 0; i < label_values.size(); ++i)
            child.labels.push_back({label_names_[i], label_values[i]});
        child.metric = make_();
        Metric& metric = *child.metric;
        children_.emplace(label_values, std::move(child));
        return metric;
    }

    // Any thread.
    std::size_t child_count() const {
        std::lock_guard lock(mutex_);
        return children_.size();
    }

    void collect_into(std::vector<prometheus::MetricFamily>& out) const override {
        prometheus::MetricFamily family{name_, help_, type_, {}};
        std::lock_guard lock(mutex_);
        family.metric.reserve(children_.size());
        for (const auto& [values, child] : children_) {
            prometheus::ClientMetric sample;
            sample.label = child.labels;
            child.metric->collect(sample);
            family.metric.push_back(std::move(sample));
        }
        out.push_back(std::move(family));
    }

private:
    struct Child {
        std::vector<prometheus::ClientMetric::Label> labels;  // made once, copied per scrape
        std::unique_ptr<Metric> metric;
    };
    Factory make_;
    mutable std::mutex mutex_;  // guards children_ (the map, not the shards)
    std::map<std::vector<std::string>, Child> children_;  // label-value order, as scraped
};

}  // namespace switchyard::metrics
