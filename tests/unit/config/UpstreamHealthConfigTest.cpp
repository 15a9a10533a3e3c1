// Upstream health keys: health_check (active checks), max_fails/fail_timeout (passive
// ejection) and when_all_down: defaults, full values, and every error with its path and line.
#include <catch2/catch.hpp>

#include "ConfigTestHelpers.hpp"

using namespace switchyard;
using namespace std::chrono_literals;
using switchyard::test::errors_of;
using Errors = std::vector<std::string>;

namespace {

const UpstreamOptions load_upstream(const std::string& keys) {
    auto result = load_config_string("upstreams:\n"
                                     "  - name: u\n"
                                     "    endpoints: [127.0.0.1:1]\n" +
                                     keys +
                                     "listeners:\n"
                                     "  - {name: a, listen: 127.0.0.1:0, upstream: u}\n");
    for (const auto& e : result.errors) INFO(e.format());
    REQUIRE(result.errors.empty());
    return result.options->upstreams.at(0);
}

std::string upstream_with(const std::string& keys) {
    return "upstreams:\n"
           "  - name: u\n"
           "    endpoints: [127.0.0.1:1]\n" +
           keys +
           "listeners:\n"
           "  - {name: a, listen: 127.0.0.1:0, upstream: u}\n";
}

}  // namespace

TEST_CASE("upstream health defaults: passive ejection on, no active checks, fail-open", "[config][health]") {
    const UpstreamOptions u = load_upstream("");
    CHECK_FALSE(u.health_check.has_value());
    CHECK(u.max_fails == 1);
    CHECK(u.fail_timeout == 10s);
    CHECK(u.when_all_down == WhenAllDown::fail_open);

    // An empty block turns checks on with every default.
    const UpstreamOptions checked = load_upstream("    health_check: {}\n");
    REQUIRE(checked.health_check.has_value());
    CHECK(checked.health_check->interval == 5s);
    CHECK(checked.health_check->timeout == 1s);
    CHECK(checked.health_check->healthy_threshold == 2);
    CHECK(checked.health_check->unhealthy_threshold == 3);
    CHECK(checked.health_check->send.empty());
    CHECK(checked.health_check->expect.empty());
}

TEST_CASE("upstream health keys round-trip, escapes in send/expect included", "[config][health]") {
    const UpstreamOptions u = load_upstream("    max_fails: 0\n"
                                            "    fail_timeout: 1m30s\n"
                                            "    when_all_down: reject\n"
                                            "    health_check:\n"
                                            "      interval: 250ms\n"
                                            "      timeout: 100ms\n"
                                            "      healthy_threshold: 1\n"
                                            "      unhealthy_threshold: 5\n"
                                            "      send: \"PING\\r\\n\"\n"
                                            "      expect: \"+PONG\"\n");
    CHECK(u.max_fails == 0);
    CHECK(u.fail_timeout == 90s);
    CHECK(u.when_all_down == WhenAllDown::reject);
    REQUIRE(u.health_check.has_value());
    CHECK(u.health_check->interval == 250ms);
    CHECK(u.health_check->timeout == 100ms);
    CHECK(u.health_check->healthy_threshold == 1);
    CHECK(u.health_check->unhealthy_threshold == 5);
    CHECK(u.health_check->send == "PING\r\n");
    CHECK(u.health_check->expect == "+PONG");
}

TEST_CASE("upstream health errors carry their YAML path and line", "[config][health][errors]") {
    CHECK(errors_of(upstream_with("    health_check:\n"
                                  "      interval: 5ms\n"
                                  "      timeout: 0s\n"
                                  "      healthy_threshold: 0\n"
                                  "      unhealthy_threshold: 101\n"
                                  "      expct: \"+PONG\"\n"
                                  "    max_fails: -1\n"
                                  "    fail_timeout: 0\n"
                                  "    when_all_down: panic\n")) ==
          Errors{
              "5:17: upstreams[0].health_check.interval: must be between 10ms and 1h, got 5ms",
              "6:16: upstreams[0].health_check.timeout: must be between 1ms and 1h, got 0s",
              "7:26: upstreams[0].health_check.healthy_threshold: must be between 1 and 100, got 0",
              "8:28: upstreams[0].health_check.unhealthy_threshold: must be between 1 and 100, got 101",
              "9:7: upstreams[0].health_check.expct: unknown key (did you mean expect?)",
              "10:16: upstreams[0].max_fails: must not be negative, got -1",
              "11:19: upstreams[0].fail_timeout: must be between 1ms and 24h, got 0",
              "12:20: upstreams[0].when_all_down: 'panic' is not one of fail-open or reject",
          });
    CHECK(errors_of(upstream_with("    health_check: yes\n")) ==
          Errors{"4:19: upstreams[0].health_check: expected mapping, got boolean yes"});
    CHECK(errors_of(upstream_with("    health_check: {expect: \"" + std::string(1025, 'x') + "\"}\n")) ==
          Errors{"4:28: upstreams[0].health_check.expect: at most 1024 bytes, got 1025"});
}
