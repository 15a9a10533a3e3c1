#pragma once
// A gauge split into one shard per loop thread; its value is the SUM of the shards. A loop
// adjusts its own shard (connections_active: +1 on accept, -1 on close by the loop that owns the
// connection), so the total is right without any loop touching another's cache line.
//
// set(shard, v) sets that shard's contribution only, not the total. A value owned by one thread
// that is not a loop (the control thread) either gets a shard of its own (make the ShardedMetrics with
// one shard more than there are loops) or is computed at scrape time by a collector
// (a prometheus::Collectable), which is the better fit for values read from elsewhere.
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/metrics/ShardCell.hpp"

namespace prometheus {
struct ClientMetric;
}

namespace switchyard::metrics {

class Gauge {
public:
    explicit Gauge(std::size_t shard_count);
    Gauge(const Gauge&) = delete;
    Gauge& operator=(const Gauge&) = delete;

    // Adds delta (may be negative) to the caller's shard. Loop thread of `shard` only.
    void add(std::size_t shard, std::int64_t delta) {
        assert(shard < shard_count_);
        single_writer_add(shards_[shard].value, static_cast<double>(delta));
    }
    void inc(std::size_t shard) { add(shard, 1); }
    void dec(std::size_t shard) { add(shard, -1); }

    // Replaces the caller's shard contribution. Loop thread of `shard` only.
    void set(std::size_t shard, double value) {
        assert(shard < shard_count_);
        shards_[shard].value.store(value, std::memory_order_relaxed);
    }

    // Sum over all shards. Any thread.
    double value() const;

    // Writes value() as the sample's gauge value. Any thread (the scrape).
    void collect(prometheus::ClientMetric& out) const;

    // Any thread.
    std::size_t shard_count() const { return shard_count_; }

private:
    std::size_t shard_count_;
    std::unique_ptr<ShardCell<double>[]> shards_;
};

}  // namespace switchyard::metrics
