#include "core/metrics/Registry.hpp"

#include <stdexcept>

namespace switchyard::metrics {

Registry::Registry(std::size_t shard_count) : shard_count_(shard_count) {
    if (shard_count_ == 0) throw std::invalid_argument("metrics registry needs at least 1 shard");
}

Registry::~Registry() = default;

MetricFamily* Registry::find_locked(const std::string& name, MetricType type,
                                    const std::vector<std::string>& label_names) const {
    for (const auto& family : families_) {
        if (family->name() != name) continue;
        if (family->type() != type) {
            throw std::invalid_argument("metric " + name + " is already registered as a " +
                                        std::string(type_word(family->type())));
        }
        if (family->label_names() != label_names) {
            throw std::invalid_argument("metric " + name +
                                        " is already registered with other label names");
        }
        return family.get();
    }
    return nullptr;
}

CounterFamily& Registry::counter(std::string name, std::string help,
                                 std::vector<std::string> label_names) {
    std::lock_guard lock(mutex_);
    if (auto* found = find_locked(name, MetricType::counter, label_names)) {
        return static_cast<CounterFamily&>(*found);
    }
    auto family = std::make_unique<CounterFamily>(std::move(name), std::move(help),
                                                  std::move(label_names), shard_count_);
    auto& result = *family;
    families_.push_back(std::move(family));
    return result;
}

GaugeFamily& Registry::gauge(std::string name, std::string help,
                             std::vector<std::string> label_names) {
    std::lock_guard lock(mutex_);
    if (auto* found = find_locked(name, MetricType::gauge, label_names)) {
        return static_cast<GaugeFamily&>(*found);
    }
    auto family = std::make_unique<GaugeFamily>(std::move(name), std::move(help),
                                                std::move(label_names), shard_count_);
    auto& result = *family;
    families_.push_back(std::move(family));
    return result;
}

HistogramFamily& Registry::histogram(std::string name, std::string help,
                                     std::vector<std::string> label_names,
                                     std::vector<double> bucket_bounds) {
    // Build first (it validates and normalises the bounds), then compare with any existing one.
    auto family = std::make_unique<HistogramFamily>(std::move(name), std::move(help),
                                                    std::move(label_names),
                                                    std::move(bucket_bounds), shard_count_);
    std::lock_guard lock(mutex_);
    if (auto* found =
            find_locked(family->name(), MetricType::histogram, family->label_names())) {
        auto& existing = static_cast<HistogramFamily&>(*found);
        if (existing.bucket_bounds() != family->bucket_bounds()) {
            throw std::invalid_argument("histogram " + family->name() +
                                        " is already registered with other bucket bounds");
        }
        return existing;
    }
    auto& result = *family;
    families_.push_back(std::move(family));
    return result;
}

void Registry::add_collector(Collector collector) {
    auto shared = std::make_shared<const Collector>(std::move(collector));
    std::lock_guard lock(mutex_);
    collectors_.push_back(std::move(shared));
}

std::string Registry::serialize() const {
    std::string out;
    serialize_into(out);
    return out;
}

void Registry::serialize_into(std::string& out) const {
    // Copy the lists under the registry mutex, then write without it: families are never removed,
    // and collectors may take their own time (reading /proc) without blocking registration.
    std::vector<const MetricFamily*> families;
    std::vector<std::shared_ptr<const Collector>> collectors;
    std::size_t expected_size;
    {
        std::lock_guard lock(mutex_);
        families.reserve(families_.size());
        for (const auto& family : families_) families.push_back(family.get());
        collectors = collectors_;
        expected_size = last_size_;
    }
    out.reserve(out.size() + expected_size + expected_size / 8);
    const std::size_t start = out.size();
    SampleWriter writer(out);
    for (const auto* family : families) family->write(writer);
    for (const auto& collector : collectors) (*collector)(writer);
    std::lock_guard lock(mutex_);
    last_size_ = out.size() - start;
}

}  // namespace switchyard::metrics
