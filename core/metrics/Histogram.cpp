#include "core/metrics/Histogram.hpp"

#include <limits>

#include <prometheus/client_metric.h>

namespace switchyard::metrics {

Histogram::Histogram(std::size_t shard_count, std::span<const double> upper_bounds)
    : shard_count_(shard_count),
      bounds_(upper_bounds),
      lines_per_shard_((upper_bounds.size() + 2 + words_per_line - 1) / words_per_line),
      lines_(new Line[shard_count * lines_per_shard_]) {
    // Line's atomics are value-initialised only since C++20's atomic default constructor; make the
    // zero explicit for the sum's bit pattern too (0.0 is all-zero bits).
    for (std::size_t i = 0; i < shard_count * lines_per_shard_; ++i) {
        for (auto& word : lines_[i].words) word.store(0, std::memory_order_relaxed);
    }
}

void Histogram::snapshot_into(Snapshot& out) const {
    const std::size_t buckets = bounds_.size() + 1;
    out.cumulative_counts.assign(buckets, 0);
    out.sum = 0;
    for (std::size_t shard = 0; shard < shard_count_; ++shard) {
        const std::atomic<std::uint64_t>* words = shard_words(shard);
        for (std::size_t b = 0; b < buckets; ++b) {
            out.cumulative_counts[b] += words[b].load(std::memory_order_relaxed);
        }
        out.sum += std::bit_cast<double>(words[buckets].load(std::memory_order_relaxed));
    }
    for (std::size_t b = 1; b < buckets; ++b) {
        out.cumulative_counts[b] += out.cumulative_counts[b - 1];
    }
}

Histogram::Snapshot Histogram::snapshot() const {
    Snapshot out;
    snapshot_into(out);
    return out;
}

void Histogram::collect(prometheus::ClientMetric& out) const {
    const Snapshot totals = snapshot();
    out.histogram.sample_count = totals.count();
    out.histogram.sample_sum = totals.sum;
    out.histogram.bucket.clear();
    out.histogram.bucket.reserve(totals.cumulative_counts.size());
    for (std::size_t b = 0; b < totals.cumulative_counts.size(); ++b) {
        prometheus::ClientMetric::Bucket bucket;
        bucket.cumulative_count = totals.cumulative_counts[b];
        bucket.upper_bound =
            b < bounds_.size() ? bounds_[b] : std::numeric_limits<double>::infinity();
        out.histogram.bucket.push_back(bucket);
    }
}

}  // namespace switchyard::metrics
