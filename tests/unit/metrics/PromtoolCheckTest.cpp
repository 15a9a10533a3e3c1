// Pipes the exposition's text (prometheus-cpp's TextSerializer over our collectables) into the real `promtool check metrics` (Debian package prometheus):
// it parses the exposition format and lints names (counters end in _total, base units in names).
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <string>

#include "core/metrics/BuildInfo.hpp"
#include "core/metrics/ProcessCollector.hpp"
#include "core/metrics/Exposition.hpp"
#include "core/metrics/ShardedMetrics.hpp"

#include <memory>

#include <prometheus/registry.h>

using namespace switchyard::metrics;

namespace {

constexpr const char* promtool = "/usr/bin/promtool";

struct CheckResult {
    int exit_code = -1;
    std::string output;  // stdout and stderr together
};

CheckResult promtool_check(const std::string& text) {
    char path[] = "/tmp/switchyard-metrics-XXXXXX";
    int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    ::close(fd);
    std::ofstream(path) << text;
    CheckResult result;
    const std::string command = std::string(promtool) + " check metrics < " + path + " 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    char buffer[4096];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) result.output.append(buffer, n);
    const int status = ::pclose(pipe);
    ::unlink(path);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

// What the daemon will export, with awkward label values thrown in, as one exposition.
void fill_realistic(ShardedMetrics& registry, Exposition& exposition) {
    auto& accepted = registry.counter("switchyard_connections_total",
                                      "Client connections accepted.", {"listener"});
    auto& active = registry.gauge("switchyard_connections_active",
                                  "Client connections open now.", {"listener"});
    auto& bytes = registry.counter("switchyard_received_bytes_total",
                                   "Bytes received from clients.", {"listener"});
    auto& codec_errors = registry.counter("switchyard_codec_errors_total",
                                          "Connections closed on a codec error.",
                                          {"listener", "reason"});
    auto& up = registry.gauge("switchyard_upstream_endpoint_up",
                              "1 when the endpoint takes connections.", {"upstream", "endpoint"});
    auto& connect = registry.histogram("switchyard_upstream_connect_duration_seconds",
                                       "Time to connect to an endpoint.", {"upstream"},
                                       {0.001, 0.005, 0.025, 0.1, 0.5, 2.5});
    auto& ticks = registry.counter("switchyard_loop_ticks_total", "Loop ticks.", {"loop"});
    auto& lag = registry.histogram("switchyard_loop_lag_seconds",
                                   "How late a loop tick ran.", {"loop"},
                                   {0.0001, 0.001, 0.01, 0.1, 1});
    registry.counter("switchyard_listener_rejected_total", "Connections refused at a limit.",
                     {"listener", "reason"});  // no children yet
    for (std::string listener : {"web", "redis \"main\"", "path\\with\nnewline"}) {
        accepted.with({listener}).inc(0, 10);
        active.with({listener}).add(1, 3);
        bytes.with({listener}).inc(1, 123456789);
        codec_errors.with({listener, "too_large"}).inc(0);
    }
    up.with({"backends", "10.0.0.1:6379"}).set(0, 1);
    up.with({"backends", "[::1]:6379"}).set(0, 0);
    connect.with({"backends"}).observe(0, 0.003);
    connect.with({"backends"}).observe(1, 7);
    for (std::size_t loop = 0; loop < registry.shard_count(); ++loop) {
        ticks.with({std::to_string(loop)}).inc(loop, 100);
        lag.with({std::to_string(loop)}).observe(loop, 0.0002);
    }
    auto plain = std::make_shared<prometheus::Registry>();
    add_build_info(*plain, "0.1.0");
    exposition.add(plain);
    exposition.add(std::make_shared<ProcessCollector>());
}

}  // namespace

TEST_CASE("promtool accepts the text of a realistic registry without lint complaints") {
    if (::access(promtool, X_OK) != 0) {
        WARN("promtool not installed (Debian package prometheus): check skipped");
        return;
    }
    auto registry = std::make_shared<ShardedMetrics>(2);
    Exposition exposition;
    exposition.add(registry);
    fill_realistic(*registry, exposition);
    const CheckResult result = promtool_check(exposition.serialize());
    INFO("promtool said: " << result.output);
    CHECK(result.exit_code == 0);
    CHECK(result.output.empty());
}

TEST_CASE("promtool does complain about a counter without _total (the check can fail)") {
    if (::access(promtool, X_OK) != 0) {
        WARN("promtool not installed (Debian package prometheus): check skipped");
        return;
    }
    auto registry = std::make_shared<ShardedMetrics>(1);
    registry->counter("switchyard_requests", "Badly named.").with({}).inc(0);
    Exposition exposition;
    exposition.add(registry);
    const CheckResult result = promtool_check(exposition.serialize());
    CHECK(result.exit_code != 0);
    CHECK(result.output.find("_total") != std::string::npos);
}
