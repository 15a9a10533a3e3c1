#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "core/metrics/BuildInfo.hpp"
#include "core/metrics/Exposition.hpp"
#include "core/metrics/ShardedMetrics.hpp"

using namespace switchyard::metrics;

namespace {

std::string text_of(const prometheus::Collectable& collectable) {
    return prometheus::TextSerializer().Serialize(collectable.Collect());
}

}  // namespace

TEST_CASE("sharded families collect summed values that prometheus-cpp serializes, exactly") {
    ShardedMetrics sharded(2);
    auto& requests = sharded.counter("test_requests_total", "Requests handled.", {"method", "path"});
    requests.with({"POST", "/x"}).inc(1);
    requests.with({"GET", "/a\"b\\c\nd"}).inc(0, 3);
    requests.with({"GET", "/a\"b\\c\nd"}).inc(1, 4);

    auto& connections = sharded.gauge("test_connections_active", "Open connections.");
    connections.with({}).add(0, 5);
    connections.with({}).add(1, -2);

    sharded.gauge("test_empty_family", "No children yet.", {"x"});

    auto& latency = sharded.histogram("test_latency_seconds", "Latency.", {"op"}, {0.1, 0.5, 1});
    Histogram& reads = latency.with({"read"});
    reads.observe(0, 0.0625);
    reads.observe(1, 0.5);
    reads.observe(0, 2);
    reads.observe(1, 0.25);

    // prometheus-cpp 1.0's TextSerializer writes a histogram's _count and _sum before its buckets.
    const std::string expected =
        "# HELP test_requests_total Requests handled.\n"
        "# TYPE test_requests_total counter\n"
        "test_requests_total{method=\"GET\",path=\"/a\\\"b\\\\c\\nd\"} 7\n"
        "test_requests_total{method=\"POST\",path=\"/x\"} 1\n"
        "# HELP test_connections_active Open connections.\n"
        "# TYPE test_connections_active gauge\n"
        "test_connections_active 3\n"
        "# HELP test_empty_family No children yet.\n"
        "# TYPE test_empty_family gauge\n"
        "# HELP test_latency_seconds Latency.\n"
        "# TYPE test_latency_seconds histogram\n"
        "test_latency_seconds_count{op=\"read\"} 4\n"
        "test_latency_seconds_sum{op=\"read\"} 2.8125\n"
        "test_latency_seconds_bucket{op=\"read\",le=\"0.1\"} 1\n"
        "test_latency_seconds_bucket{op=\"read\",le=\"0.5\"} 3\n"
        "test_latency_seconds_bucket{op=\"read\",le=\"1\"} 3\n"
        "test_latency_seconds_bucket{op=\"read\",le=\"+Inf\"} 4\n";
    CHECK(text_of(sharded) == expected);
}

TEST_CASE("collected families carry prometheus-cpp's types, label order and values") {
    ShardedMetrics sharded(3);
    auto& bytes = sharded.counter("test_bytes_total", "Bytes.", {"listener", "side"});
    bytes.with({"web", "client"}).inc(2, 40);
    bytes.with({"web", "client"}).inc(0, 2);
    auto families = sharded.Collect();
    REQUIRE(families.size() == 1);
    CHECK(families[0].type == prometheus::MetricType::Counter);
    REQUIRE(families[0].metric.size() == 1);
    const auto& sample = families[0].metric[0];
    REQUIRE(sample.label.size() == 2);
    CHECK(sample.label[0].name == "listener");
    CHECK(sample.label[0].value == "web");
    CHECK(sample.label[1].name == "side");
    CHECK(sample.counter.value == 42);
}

TEST_CASE("gauges print +Inf and -Inf as Prometheus spells them") {
    ShardedMetrics sharded(1);
    auto& gauges = sharded.gauge("test_special", "Special values.", {"kind"});
    gauges.with({"pos"}).set(0, std::numeric_limits<double>::infinity());
    gauges.with({"neg"}).set(0, -std::numeric_limits<double>::infinity());
    const std::string text = text_of(sharded);
    CHECK(text.find("test_special{kind=\"pos\"} +Inf\n") != std::string::npos);
    CHECK(text.find("test_special{kind=\"neg\"} -Inf\n") != std::string::npos);
}

TEST_CASE("with() returns the same child for the same label values, a stable reference") {
    ShardedMetrics sharded(1);
    auto& family = sharded.counter("test_total", "T.", {"a"});
    Counter& first = family.with({"x"});
    for (int i = 0; i < 1000; ++i) family.with({"v" + std::to_string(i)});  // grow the map
    CHECK(&family.with({"x"}) == &first);
    CHECK(family.child_count() == 1001);
}

TEST_CASE("invalid or repeated names, label counts and bucket bounds are refused clearly") {
    ShardedMetrics sharded(1);
    CHECK_THROWS_WITH(sharded.counter("bad-name", "x"), Catch::Contains("invalid metric name 'bad-name'"));
    CHECK_THROWS_WITH(sharded.counter("ok_total", "x", {"__reserved"}),
                      Catch::Contains("invalid label name '__reserved'"));
    CHECK_THROWS_WITH(sharded.counter("dup_total", "x", {"a", "a"}), Catch::Contains("repeated"));
    CHECK_THROWS_WITH(sharded.histogram("h_seconds", "x", {"le"}, {1}), Catch::Contains("'le' is reserved"));
    CHECK_THROWS_WITH(sharded.histogram("h2_seconds", "x", {}, {1, 1}), Catch::Contains("strictly increasing"));
    CHECK_THROWS_WITH(sharded.histogram("h3_seconds", "x", {}, {std::nan("")}), Catch::Contains("finite"));
    sharded.counter("taken_total", "x");
    CHECK_THROWS_WITH(sharded.gauge("taken_total", "x"), Catch::Contains("already registered"));
    auto& family = sharded.counter("two_total", "x", {"a", "b"});
    CHECK_THROWS_WITH(family.with({"only-one"}), Catch::Contains("takes 2 label values, not 1"));
    CHECK_THROWS_AS(ShardedMetrics(0), std::invalid_argument);
}

TEST_CASE("a trailing +Inf bound is dropped, not doubled") {
    ShardedMetrics sharded(1);
    auto& family = sharded.histogram("test_seconds", "H.", {}, {1, std::numeric_limits<double>::infinity()});
    family.with({}).observe(0, 5);
    const std::string text = text_of(sharded);
    CHECK(text.find("test_seconds_bucket{le=\"+Inf\"} 1\n") != std::string::npos);
    CHECK(text.find("+Inf", text.find("+Inf") + 1) == std::string::npos);
}

TEST_CASE("build info is a plain prometheus-cpp gauge with the version label") {
    prometheus::Registry registry;
    add_build_info(registry, "1.2.3");
    CHECK(text_of(registry) ==
          "# HELP switchyard_build_info A metric with a constant '1' value labeled by the "
          "version switchyard was built from.\n"
          "# TYPE switchyard_build_info gauge\n"
          "switchyard_build_info{version=\"1.2.3\"} 1\n");
    CHECK_FALSE(build_version().empty());
}

TEST_CASE("an exposition serializes its collectables in the order they were added") {
    auto plain = std::make_shared<prometheus::Registry>();
    add_build_info(*plain, "9.9.9");
    auto sharded = std::make_shared<ShardedMetrics>(2);
    sharded->counter("test_first_total", "First.").with({}).inc(1, 5);
    Exposition exposition;
    exposition.add(sharded);
    exposition.add(plain);
    const std::string text = exposition.serialize();
    const auto first = text.find("test_first_total 5\n");
    const auto second = text.find("switchyard_build_info{version=\"9.9.9\"} 1\n");
    REQUIRE(first != std::string::npos);
    REQUIRE(second != std::string::npos);
    CHECK(first < second);
    CHECK(exposition.collect().size() == 2);
}

TEST_CASE("thousands of children are every one collected") {
    // The scale a busy daemon reaches: 50 listeners x 100 endpoints of label sets.
    ShardedMetrics sharded(4);
    auto& bytes = sharded.counter("test_bytes_total", "Bytes.", {"listener", "endpoint"});
    auto& lag = sharded.histogram("test_lag_seconds", "Lag.", {"loop"}, {0.001, 0.01, 0.1, 1});
    for (int l = 0; l < 50; ++l) {
        for (int e = 0; e < 100; ++e) {
            bytes.with({"l" + std::to_string(l), "10.0.0." + std::to_string(e) + ":80"})
                .inc(static_cast<std::size_t>(e % 4), static_cast<std::uint64_t>(l * 100 + e));
        }
    }
    for (int loop = 0; loop < 4; ++loop) lag.with({std::to_string(loop)}).observe(0, 0.005);
    const std::string text = text_of(sharded);
    std::size_t samples = 0;
    std::size_t pos = 0;
    while ((pos = text.find("\ntest_bytes_total{", pos)) != std::string::npos) {
        ++samples;
        ++pos;
    }
    CHECK(samples == 5000);
    CHECK(text.find("test_bytes_total{listener=\"l49\",endpoint=\"10.0.0.99:80\"} 4999\n") != std::string::npos);
    CHECK(text.find("test_lag_seconds_count{loop=\"3\"} 1\n") != std::string::npos);
}
