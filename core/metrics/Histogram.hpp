#pragma once
// A histogram split into one shard per loop thread. Each shard holds its own (non-cumulative)
// bucket counts and sum in cache lines of its own; the scrape adds the shards up and makes the
// counts cumulative. The count is the sum of the buckets, so `_count` always equals the `+Inf`
// bucket even while loops are writing.
#include <algorithm>
#include <atomic>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/metrics/ShardCell.hpp"

namespace prometheus {
struct ClientMetric;
}

namespace switchyard::metrics {

class Histogram {
public:
    // Totals over all shards, as the scrape writes them.
    struct Snapshot {
        std::vector<std::uint64_t> cumulative_counts;  // one per bound, then +Inf (== count)
        double sum = 0;
        std::uint64_t count() const {
            return cumulative_counts.empty() ? 0 : cumulative_counts.back();
        }
    };

    // `upper_bounds` are strictly increasing and finite (ShardedMetrics::histogram checks) and must outlive
    // this histogram (the family owns them).
    Histogram(std::size_t shard_count, std::span<const double> upper_bounds);
    Histogram(const Histogram&) = delete;
    Histogram& operator=(const Histogram&) = delete;

    // Counts v in the first bucket whose bound is >= v (NaN goes to +Inf) and adds v to the sum.
    // Loop thread of `shard` only.
    void observe(std::size_t shard, double v) {
        assert(shard < shard_count_);
        std::size_t bucket = std::isnan(v)
            ? bounds_.size()
            : static_cast<std::size_t>(
                  std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
        std::atomic<std::uint64_t>* words = shard_words(shard);
        single_writer_add(words[bucket], std::uint64_t{1});
        std::atomic<std::uint64_t>& sum = words[bounds_.size() + 1];
        double updated = std::bit_cast<double>(sum.load(std::memory_order_relaxed)) + v;
        sum.store(std::bit_cast<std::uint64_t>(updated), std::memory_order_relaxed);
    }

    // Sums the shards into `out`, reusing its storage. Any thread.
    void snapshot_into(Snapshot& out) const;
    Snapshot snapshot() const;

    // Writes the summed buckets (cumulative, +Inf last), sum and count. Any thread (the scrape).
    void collect(prometheus::ClientMetric& out) const;

    // Any thread.
    std::span<const double> upper_bounds() const { return bounds_; }
    std::size_t shard_count() const { return shard_count_; }

private:
    // A shard is whole cache lines of 64-bit words: buckets (bounds + the +Inf bucket), then the
    // sum stored as the bits of a double.
    struct alignas(cache_line_bytes) Line {
        std::atomic<std::uint64_t> words[cache_line_bytes / sizeof(std::uint64_t)];
    };
    static constexpr std::size_t words_per_line = cache_line_bytes / sizeof(std::uint64_t);

    std::atomic<std::uint64_t>* shard_words(std::size_t shard) const {
        return lines_[shard * lines_per_shard_].words;
    }

    std::size_t shard_count_;
    std::span<const double> bounds_;
    std::size_t lines_per_shard_;
    std::unique_ptr<Line[]> lines_;
};

}  // namespace switchyard::metrics
