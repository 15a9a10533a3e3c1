#include "core/metrics/ShardedMetrics.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>

#include <prometheus/check_names.h>

namespace switchyard::metrics {

ShardedMetrics::ShardedMetrics(std::size_t shard_count) : shard_count_(shard_count) {
    if (shard_count_ == 0) throw std::invalid_argument("sharded metrics need at least 1 shard");
}

ShardedMetrics::~ShardedMetrics() = default;

void ShardedMetrics::check_new(const std::string& name,
                               const std::vector<std::string>& label_names) const {
    if (!prometheus::CheckMetricName(name))
        throw std::invalid_argument("invalid metric name '" + name + "'");
    std::set<std::string> seen;
    for (const auto& label : label_names) {
        if (!prometheus::CheckLabelName(label))
            throw std::invalid_argument("metric " + name + ": invalid label name '" + label + "'");
        if (!seen.insert(label).second)
            throw std::invalid_argument("metric " + name + ": label '" + label + "' repeated");
    }
    for (const auto& family : families_)
        if (family->name() == name)
            throw std::invalid_argument("metric " + name + " is already registered");
}

template <class Metric>
ShardedFamily<Metric>& ShardedMetrics::add(std::string name, std::string help, prometheus::MetricType type,
                                           std::vector<std::string> label_names,
                                           typename ShardedFamily<Metric>::Factory make) {
    std::lock_guard lock(mutex_);
    check_new(name, label_names);
    auto family = std::make_unique<ShardedFamily<Metric>>(std::move(name), std::move(help), type,
                                                          std::move(label_names), std::move(make));
    ShardedFamily<Metric>& result = *family;
    families_.push_back(std::move(family));
    return result;
}

ShardedFamily<Counter>& ShardedMetrics::counter(std::string name, std::string help,
                                                std::vector<std::string> label_names) {
    const std::size_t shards = shard_count_;
    return add<Counter>(std::move(name), std::move(help), prometheus::MetricType::Counter,
                        std::move(label_names), [shards] { return std::make_unique<Counter>(shards); });
}

ShardedFamily<Gauge>& ShardedMetrics::gauge(std::string name, std::string help,
                                            std::vector<std::string> label_names) {
    const std::size_t shards = shard_count_;
    return add<Gauge>(std::move(name), std::move(help), prometheus::MetricType::Gauge,
                      std::move(label_names), [shards] { return std::make_unique<Gauge>(shards); });
}

ShardedFamily<Histogram>& ShardedMetrics::histogram(std::string name, std::string help,
                                                    std::vector<std::string> label_names,
                                                    std::vector<double> bounds) {
    if (std::find(label_names.begin(), label_names.end(), "le") != label_names.end())
        throw std::invalid_argument("histogram " + name + ": label name 'le' is reserved for buckets");
    if (!bounds.empty() && std::isinf(bounds.back()) && bounds.back() > 0) bounds.pop_back();
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        if (!std::isfinite(bounds[i]))
            throw std::invalid_argument("histogram " + name + ": bucket bounds must be finite numbers");
        if (i > 0 && !(bounds[i - 1] < bounds[i]))
            throw std::invalid_argument("histogram " + name + ": bucket bounds must be strictly increasing");
    }
    // The bounds live as long as this object; every child of the family points at them.
    const std::vector<double>* kept;
    {
        std::lock_guard lock(mutex_);
        bounds_.push_back(std::make_unique<std::vector<double>>(std::move(bounds)));
        kept = bounds_.back().get();
    }
    const std::size_t shards = shard_count_;
    return add<Histogram>(std::move(name), std::move(help), prometheus::MetricType::Histogram,
                          std::move(label_names),
                          [shards, kept] { return std::make_unique<Histogram>(shards, *kept); });
}

std::vector<prometheus::MetricFamily> ShardedMetrics::Collect() const {
    std::vector<const ShardedFamilyBase*> families;
    {
        // Families are never removed: collect outside the list's lock so a scrape never holds
        // up registration, and each family takes its own lock for its children.
        std::lock_guard lock(mutex_);
        families.reserve(families_.size());
        for (const auto& family : families_) families.push_back(family.get());
    }
    std::vector<prometheus::MetricFamily> out;
    out.reserve(families.size());
    for (const auto* family : families) family->collect_into(out);
    return out;
}

}  // namespace switchyard::metrics
