#include <catch2/catch.hpp>

#include <cstdint>

#include "core/metrics/Counter.hpp"
#include "core/metrics/Gauge.hpp"
#include "core/metrics/ShardCell.hpp"

using namespace switchyard::metrics;

// Shards must sit on cache lines of their own, or two loops would false-share.
static_assert(sizeof(ShardCell<std::uint64_t>) == cache_line_bytes);
static_assert(alignof(ShardCell<std::uint64_t>) == cache_line_bytes);
static_assert(sizeof(ShardCell<double>) == cache_line_bytes);

TEST_CASE("a counter sums its shards") {
    Counter counter(3);
    CHECK(counter.value() == 0);
    counter.inc(0);
    counter.inc(1, 10);
    counter.inc(2, 100);
    counter.inc(2);
    CHECK(counter.value() == 112);
    CHECK(counter.shard_count() == 3);
}

TEST_CASE("a gauge's value is the sum of per-shard contributions") {
    Gauge gauge(2);
    gauge.inc(0);
    gauge.inc(0);
    gauge.inc(1);
    gauge.dec(0);  // a connection on loop 0 closed
    CHECK(gauge.value() == 2.0);
    gauge.add(1, -5);
    CHECK(gauge.value() == -3.0);
    gauge.set(0, 0.25);  // replaces loop 0's share only
    CHECK(gauge.value() == -3.75);
}
