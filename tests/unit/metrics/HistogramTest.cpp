#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "core/metrics/Histogram.hpp"

using namespace switchyard::metrics;

TEST_CASE("a histogram counts each value in the first bucket whose bound is >= it") {
    const std::vector<double> bounds{0.1, 0.5, 1.0};
    Histogram histogram(2, bounds);
    histogram.observe(0, 0.0625);  // le 0.1
    histogram.observe(1, 0.1);     // le 0.1: bounds are inclusive
    histogram.observe(0, 0.5);     // le 0.5
    histogram.observe(1, 0.75);    // le 1
    histogram.observe(0, 7);       // +Inf
    auto snapshot = histogram.snapshot();
    REQUIRE(snapshot.cumulative_counts.size() == 4);
    CHECK(snapshot.cumulative_counts[0] == 2);
    CHECK(snapshot.cumulative_counts[1] == 3);
    CHECK(snapshot.cumulative_counts[2] == 4);
    CHECK(snapshot.cumulative_counts[3] == 5);
    CHECK(snapshot.count() == 5);
    CHECK(snapshot.sum == Approx(0.0625 + 0.1 + 0.5 + 0.75 + 7));
}

TEST_CASE("NaN goes to the +Inf bucket, as in the Go client") {
    const std::vector<double> bounds{1.0};
    Histogram histogram(1, bounds);
    histogram.observe(0, std::nan(""));
    auto snapshot = histogram.snapshot();
    CHECK(snapshot.cumulative_counts[0] == 0);
    CHECK(snapshot.cumulative_counts[1] == 1);
    CHECK(std::isnan(snapshot.sum));
}

TEST_CASE("a histogram with many bounds spans several cache lines per shard") {
    std::vector<double> bounds;
    for (int i = 1; i <= 20; ++i) bounds.push_back(i);
    Histogram histogram(3, bounds);
    for (int shard = 0; shard < 3; ++shard) {
        for (int i = 0; i <= 21; ++i) histogram.observe(shard, i);
    }
    auto snapshot = histogram.snapshot();
    // values 0 and 1 fall in le=1; value i in le=i; 21 in +Inf
    CHECK(snapshot.cumulative_counts[0] == 6);
    CHECK(snapshot.cumulative_counts[19] == 63);
    CHECK(snapshot.count() == 66);
    CHECK(snapshot.sum == 3 * 231.0);
}
