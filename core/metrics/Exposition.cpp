#include "core/metrics/Exposition.hpp"

#include <iterator>

#include <prometheus/text_serializer.h>

namespace switchyard::metrics {

void Exposition::add(std::shared_ptr<const prometheus::Collectable> collectable) {
    std::lock_guard lock(mutex_);
    collectables_.push_back(std::move(collectable));
}

std::vector<prometheus::MetricFamily> Exposition::collect() const {
    std::vector<std::shared_ptr<const prometheus::Collectable>> collectables;
    {
        std::lock_guard lock(mutex_);
        collectables = collectables_;
    }
    std::vector<prometheus::MetricFamily> out;
    for (const auto& collectable : collectables) {
        auto families = collectable->Collect();
        out.insert(out.end(), std::make_move_iterator(families.begin()),
                   std::make_move_iterator(families.end()));
    }
    return out;
}

std::string Exposition::serialize() const { return prometheus::TextSerializer().Serialize(collect()); }

}  // namespace switchyard::metrics
