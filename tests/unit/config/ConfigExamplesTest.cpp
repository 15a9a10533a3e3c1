// The shipped example files must load cleanly: they are what a newcomer runs and copies.
#include <catch2/catch.hpp>

#include "config/ConfigLoader.hpp"

using namespace switchyard;
using namespace std::chrono_literals;

namespace {

Options load_example(const std::string& name) {
    const std::string file = std::string(SWITCHYARD_CONFIG_EXAMPLES_DIR) + "/" + name;
    auto result = load_config_file(file);
    for (const auto& e : result.errors) UNSCOPED_INFO(e.format(file));
    REQUIRE(result.errors.empty());
    REQUIRE(result.options.has_value());
    return *result.options;
}

}  // namespace

TEST_CASE("switchyard.yaml: echo listener, echo-proxy through upstream echo, lines to length-field, udp echo and proxy, metrics",
          "[config][examples]") {
    const Options o = load_example("switchyard.yaml");
    CHECK(o.loops == 0);
    CHECK(o.metrics.listen == "127.0.0.1:9464");
    CHECK(o.metrics.path == "/metrics");
    REQUIRE(o.listeners.size() == 6);
    CHECK(o.listeners[4].protocol == ListenerProtocol::udp);
    CHECK(o.listeners[4].listen == "127.0.0.1:7000");  // beside the tcp echo on the same port
    CHECK(o.listeners[4].handler == Handler::echo);
    CHECK(o.listeners[5].protocol == ListenerProtocol::udp);
    CHECK(o.listeners[5].upstream == "udp-echo");
    CHECK(o.listeners[5].idle_timeout == 10s);  // shorter than the udp default, so a drain ends soon
    CHECK(o.listeners[0].name == "echo");
    CHECK(o.listeners[0].listen == "127.0.0.1:7000");
    CHECK(o.listeners[0].handler == Handler::echo);
    CHECK(o.listeners[1].name == "echo-proxy");
    CHECK(o.listeners[1].listen == "127.0.0.1:7001");
    CHECK(o.listeners[1].upstream == "echo");
    REQUIRE(o.upstreams.size() == 3);
    CHECK(o.upstreams[0].name == "echo");
    REQUIRE(o.upstreams[0].endpoints.size() == 1);
    CHECK(o.upstreams[0].endpoints[0].address == "127.0.0.1:7000");
    // The framed listener translates lines into length-prefixed frames for the framed echo.
    CHECK(o.listeners[2].codec->plugin == "line");
    CHECK(o.listeners[2].upstream == "framed-echo");
    CHECK(o.upstreams[2].codec->plugin == "length-field");
    CHECK(o.upstreams[2].endpoints[0].address == o.listeners[3].listen);
    CHECK(o.listeners[3].codec->plugin == "length-field");
    CHECK(o.listeners[3].handler == Handler::echo);
}

TEST_CASE("reference.yaml documents every key and loads", "[config][examples]") {
    const Options o = load_example("reference.yaml");
    CHECK(o.tick == 1s);
    REQUIRE(o.listeners.size() == 4);
    CHECK(o.listeners[3].protocol == ListenerProtocol::udp);
    CHECK(o.listeners[3].max_sessions == 10000);
    CHECK(o.listeners[3].responses == 1u);
    CHECK(o.listeners[3].max_datagram == 65507);
    CHECK(o.listeners[3].access.size() == 4);
    CHECK(o.listeners[3].max_sessions_per_ip == 0);
    CHECK(o.listeners[3].rate_limit.per_second == 0);  // shown commented out, as on web-in
    CHECK(o.listeners[0].reuse_port);
    CHECK(o.listeners[0].balancer == BalancePolicy::least_connections);
    CHECK(o.listeners[0].frame_timeout == 30s);
    CHECK(o.listeners[0].access.size() == 4);
    CHECK(o.listeners[0].access.back().action == AccessAction::deny);
    CHECK(o.listeners[0].first_byte_timeout == 0s);
    CHECK(o.listeners[0].proxy_protocol == ProxyProtocolMode::off);
    CHECK(o.listeners[1].proxy_protocol == ProxyProtocolMode::accept);
    CHECK(o.listeners[1].trusted_sources.size() == 2);
    CHECK(o.listeners[1].proxy_protocol_timeout == 5s);
    CHECK(o.listeners[2].protocol == ListenerProtocol::unix_stream);
    CHECK(o.listeners[2].file_mode == 0660);
    CHECK(o.listeners[2].group_gid == 0u);
    CHECK(o.upstreams[0].send_proxy == SendProxy::off);
    CHECK_FALSE(o.user_uid);
    CHECK_FALSE(o.allow_writable_plugins);
    REQUIRE(o.upstreams.size() == 2);
    REQUIRE(o.upstreams[0].health_check.has_value());
    CHECK(o.upstreams[0].health_check->send == "PING\r\n");
    CHECK(o.upstreams[0].health_check->expect == "+PONG");
    CHECK(o.upstreams[0].max_fails == 1);
    CHECK(o.upstreams[0].when_all_down == WhenAllDown::fail_open);
    // The udp upstream's check is a DNS query: its \x00 escapes arrive as zero bytes.
    REQUIRE(o.upstreams[1].health_check.has_value());
    using namespace std::string_literals;
    CHECK(o.upstreams[1].health_check->send ==
          "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07" "example" "\x03" "com" "\x00\x00\x01\x00\x01"s);
    CHECK(o.upstreams[1].health_check->send.size() == 29);
    CHECK(o.upstreams[1].health_check->expect == "\x12\x34");
}

TEST_CASE("codecs.yaml shows line and line-to-length-field codecs", "[config][examples]") {
    const Options o = load_example("codecs.yaml");
    REQUIRE(o.listeners.size() == 3);
    REQUIRE(o.listeners[0].codec.has_value());
    CHECK(o.listeners[0].codec->plugin == "line");
    const auto framed = std::find_if(o.upstreams.begin(), o.upstreams.end(),
                                     [](const UpstreamOptions& u) { return u.name == "framed-backend"; });
    REQUIRE(framed != o.upstreams.end());
    REQUIRE(framed->codec.has_value());
    CHECK(framed->codec->plugin == "length-field");
    CHECK(o.listeners[1].upstream == "framed-backend");
    CHECK(o.listeners[1].codec->plugin == "line");
}

TEST_CASE("production.yaml (installed as /etc/switchyard/switchyard.yaml) opens nothing beyond loopback",
          "[config][examples]") {
    const Options o = load_example("production.yaml");
    CHECK(o.metrics.listen.rfind("127.0.0.1:", 0) == 0);
    REQUIRE(!o.listeners.empty());
    for (const auto& l : o.listeners) CHECK(l.listen.rfind("127.0.0.1:", 0) == 0);
    // The unit's TimeoutStopSec (45s) must leave the drain time to finish.
    CHECK(o.shutdown_timeout < 45s);
    CHECK(o.shutdown_timeout > 0s);
}
