#pragma once
// A monotonic counter split into one shard per loop thread, summed when scraped. Loops update it
// with no lock and no read-modify-write instruction (see ShardCell.hpp). This is the data-path
// counterpart of prometheus::Counter (an atomic double updated with compare-and-swap, too dear
// per byte or frame); ShardedFamily hands its sums to prometheus-cpp at scrape time.
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/metrics/ShardCell.hpp"

namespace prometheus {
struct ClientMetric;
}

namespace switchyard::metrics {

class Counter {
public:
    explicit Counter(std::size_t shard_count);
    Counter(const Counter&) = delete;
    Counter& operator=(const Counter&) = delete;

    // Adds n to the shard of the calling loop. Loop thread of `shard` only.
    void inc(std::size_t shard, std::uint64_t n = 1) {
        assert(shard < shard_count_);
        single_writer_add(shards_[shard].value, n);
    }

    // Sum over all shards; may miss updates still in flight. Any thread.
    std::uint64_t value() const;

    // Writes value() as the sample's counter value. Any thread (the scrape).
    void collect(prometheus::ClientMetric& out) const;

    // Any thread.
    std::size_t shard_count() const { return shard_count_; }

private:
    std::size_t shard_count_;
    std::unique_ptr<ShardCell<std::uint64_t>[]> shards_;
};

}  // namespace switchyard::metrics
