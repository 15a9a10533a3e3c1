#include <catch2/catch.hpp>

#include <limits>
#include <stdexcept>

#include "core/metrics/BuildInfo.hpp"
#include "core/metrics/Registry.hpp"

using namespace switchyard::metrics;

TEST_CASE("serialize writes counters, gauges and histograms with labels and escaping, exactly") {
    Registry registry(2);
    auto& requests = registry.counter("test_requests_total",
                                      "Requests \\ handled.\nSecond line \"quoted\".",
                                      {"method", "path"});
    requests.with({"POST", "/x"}).inc(1);
    requests.with({"GET", "/a\"b\\c\nd"}).inc(0, 3);
    requests.with({"GET", "/a\"b\\c\nd"}).inc(1, 4);

    auto& connections = registry.gauge("test_connections_active", "Open connections.");
    connections.with({}).add(0, 5);
    connections.with({}).add(1, -2);

    registry.gauge("test_empty_family", "No children yet.", {"x"});

    auto& latency = registry.histogram("test_latency_seconds", "Latency.", {"op"}, {0.1, 0.5, 1});
    Histogram& reads = latency.with({"read"});
    reads.observe(0, 0.0625);
    reads.observe(1, 0.5);
    reads.observe(0, 2);
    reads.observe(1, 0.25);

    registry.add_collector([](SampleWriter& writer) {
        writer.family("test_info", "Collected at scrape.", MetricType::gauge);
        writer.sample("test_info", {{"a", "x\"y"}, {"b", "z"}}, 1);
        writer.sample("test_info", {}, 0.5);
    });

    const std::string expected =
        "# HELP test_requests_total Requests \\\\ handled.\\nSecond line \"quoted\".\n"
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
        "test_latency_seconds_bucket{op=\"read\",le=\"0.1\"} 1\n"
        "test_latency_seconds_bucket{op=\"read\",le=\"0.5\"} 3\n"
        "test_latency_seconds_bucket{op=\"read\",le=\"1\"} 3\n"
        "test_latency_seconds_bucket{op=\"read\",le=\"+Inf\"} 4\n"
        "test_latency_seconds_sum{op=\"read\"} 2.8125\n"
        "test_latency_seconds_count{op=\"read\"} 4\n"
        "# HELP test_info Collected at scrape.\n"
        "# TYPE test_info gauge\n"
        "test_info{a=\"x\\\"y\",b=\"z\"} 1\n"
        "test_info 0.5\n";
    CHECK(registry.serialize() == expected);
}

TEST_CASE("an unlabelled histogram writes only le on buckets and no braces on sum and count") {
    Registry registry(1);
    auto& sizes = registry.histogram("test_size_bytes", "Sizes.", {}, {64, 1024});
    sizes.with({}).observe(0, 100);
    CHECK(registry.serialize() ==
          "# HELP test_size_bytes Sizes.\n"
          "# TYPE test_size_bytes histogram\n"
          "test_size_bytes_bucket{le=\"64\"} 0\n"
          "test_size_bytes_bucket{le=\"1024\"} 1\n"
          "test_size_bytes_bucket{le=\"+Inf\"} 1\n"
          "test_size_bytes_sum 100\n"
          "test_size_bytes_count 1\n");
}

TEST_CASE("gauges print +Inf, -Inf and NaN as Prometheus spells them") {
    Registry registry(1);
    auto& gauges = registry.gauge("test_special", "Special values.", {"kind"});
    gauges.with({"pos"}).set(0, std::numeric_limits<double>::infinity());
    gauges.with({"neg"}).set(0, -std::numeric_limits<double>::infinity());
    gauges.with({"nan"}).set(0, std::numeric_limits<double>::quiet_NaN());
    const std::string text = registry.serialize();
    CHECK(text.find("test_special{kind=\"pos\"} +Inf\n") != std::string::npos);
    CHECK(text.find("test_special{kind=\"neg\"} -Inf\n") != std::string::npos);
    CHECK(text.find("test_special{kind=\"nan\"} NaN\n") != std::string::npos);
}

TEST_CASE("with() returns the same child for the same label values, a stable reference") {
    Registry registry(1);
    auto& family = registry.counter("test_total", "T.", {"a"});
    Counter& first = family.with({"x"});
    for (int i = 0; i < 1000; ++i) family.with({"v" + std::to_string(i)});  // grow the map
    CHECK(&family.with({"x"}) == &first);
    CHECK(family.child_count() == 1001);
}

TEST_CASE("registering a name again returns the family when it matches and throws otherwise") {
    Registry registry(1);
    auto& counter = registry.counter("test_total", "T.", {"a"});
    CHECK(&registry.counter("test_total", "T.", {"a"}) == &counter);
    CHECK_THROWS_AS(registry.gauge("test_total", "T.", {"a"}), std::invalid_argument);
    CHECK_THROWS_AS(registry.counter("test_total", "T.", {"b"}), std::invalid_argument);

    auto& histogram = registry.histogram("test_seconds", "H.", {}, {1, 2});
    CHECK(&registry.histogram("test_seconds", "H.", {}, {1, 2}) == &histogram);
    CHECK_THROWS_AS(registry.histogram("test_seconds", "H.", {}, {1, 3}), std::invalid_argument);
}

TEST_CASE("invalid names, label counts and bucket bounds are refused with a clear message") {
    Registry registry(1);
    CHECK_THROWS_WITH(registry.counter("bad-name", "x"),
                      Catch::Contains("metric name 'bad-name' is not valid"));
    CHECK_THROWS_WITH(registry.counter("ok_total", "x", {"__reserved"}),
                      Catch::Contains("label name '__reserved'"));
    CHECK_THROWS_WITH(registry.counter("dup_total", "x", {"a", "a"}), Catch::Contains("twice"));
    CHECK_THROWS_WITH(registry.histogram("h_seconds", "x", {"le"}, {1}),
                      Catch::Contains("'le' is reserved"));
    CHECK_THROWS_WITH(registry.histogram("h2_seconds", "x", {}, {1, 1}),
                      Catch::Contains("strictly increasing"));
    CHECK_THROWS_WITH(registry.histogram("h3_seconds", "x", {}, {std::nan("")}),
                      Catch::Contains("finite"));
    auto& family = registry.counter("two_total", "x", {"a", "b"});
    CHECK_THROWS_WITH(family.with({"only-one"}),
                      Catch::Contains("got 1 label values for 2 label names"));
    CHECK_THROWS_AS(Registry(0), std::invalid_argument);
}

TEST_CASE("a trailing +Inf bound is dropped, not doubled") {
    Registry registry(1);
    auto& family = registry.histogram("test_seconds", "H.", {},
                                      {1, std::numeric_limits<double>::infinity()});
    CHECK(family.bucket_bounds() == std::vector<double>{1});
    family.with({}).observe(0, 5);
    const std::string text = registry.serialize();
    CHECK(text.find("test_seconds_bucket{le=\"+Inf\"} 1\n") != std::string::npos);
    CHECK(text.find("+Inf", text.find("+Inf") + 1) == std::string::npos);
}

TEST_CASE("build info writes switchyard_build_info with the version label") {
    Registry registry(1);
    add_build_info(registry, "1.2.3");
    CHECK(registry.serialize() ==
          "# HELP switchyard_build_info A metric with a constant '1' value labeled by the "
          "version switchyard was built from.\n"
          "# TYPE switchyard_build_info gauge\n"
          "switchyard_build_info{version=\"1.2.3\"} 1\n");
    CHECK_FALSE(build_version().empty());
}

TEST_CASE("a registry with thousands of children writes every one of them") {
    // The scale a busy daemon reaches: 50 listeners x 100 endpoints of label sets.
    Registry registry(4);
    auto& bytes = registry.counter("test_bytes_total", "Bytes.", {"listener", "endpoint"});
    auto& lag = registry.histogram("test_lag_seconds", "Lag.", {"loop"},
                                   {0.001, 0.01, 0.1, 1});
    for (int l = 0; l < 50; ++l) {
        for (int e = 0; e < 100; ++e) {
            bytes.with({"l" + std::to_string(l), "10.0.0." + std::to_string(e) + ":80"})
                .inc(static_cast<std::size_t>(e % 4), static_cast<std::uint64_t>(l * 100 + e));
        }
    }
    for (int loop = 0; loop < 4; ++loop) lag.with({std::to_string(loop)}).observe(0, 0.005);
    const std::string text = registry.serialize();
    std::size_t samples = 0;
    std::size_t pos = 0;
    while ((pos = text.find("\ntest_bytes_total{", pos)) != std::string::npos) {
        ++samples;
        ++pos;
    }
    CHECK(samples == 5000);
    CHECK(text.find("test_bytes_total{listener=\"l49\",endpoint=\"10.0.0.99:80\"} 4999\n") !=
          std::string::npos);
    CHECK(text.find("test_lag_seconds_count{loop=\"3\"} 1\n") != std::string::npos);
}
