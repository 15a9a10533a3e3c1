#include <catch2/catch.hpp>

#include "ConfigTestHelpers.hpp"

using namespace switchyard;
using namespace std::chrono_literals;
using switchyard::test::errors_of;

TEST_CASE("absent keys take the documented defaults", "[config][loader]") {
    auto result = load_config_string(
        "listeners:\n"
        "  - name: plain\n"
        "    listen: 127.0.0.1:9000\n"
        "    handler: echo\n"
        "  - name: sock\n"
        "    protocol: unix\n"
        "    listen: /tmp/switchyard-test.sock\n"
        "    upstream: up\n"
        "upstreams:\n"
        "  - name: up\n"
        "    endpoints: [127.0.0.1:1]\n");
    REQUIRE(result.errors.empty());
    REQUIRE(result.options.has_value());
    const Options& o = *result.options;
    const Options defaults;
    CHECK(o.loops == 0);
    CHECK(o.loop_wait == LoopWait::yield);
    CHECK(o.tick == 1s);
    CHECK(o.log_every == 60);
    CHECK(o.shutdown_timeout == 30s);
    CHECK(o.plugin_dir.empty());
    CHECK(o.log.level == "info");
    CHECK(o.log.format == LogFormat::text);
    CHECK(o.metrics.listen.empty());
    CHECK(o.metrics.path == "/metrics");

    REQUIRE(o.upstreams.size() == 1);
    const UpstreamOptions& up = o.upstreams[0];
    CHECK(up.balancer == BalancePolicy::round_robin);
    CHECK(up.connect_timeout == 3s);
    CHECK(up.connect_attempts == 3);
    REQUIRE(up.endpoints.size() == 1);
    CHECK(up.endpoints[0].weight == 1);
    CHECK_FALSE(up.codec.has_value());

    REQUIRE(o.listeners.size() == 2);
    const ListenerOptions& l = o.listeners[0];
    CHECK(l.protocol == ListenerProtocol::tcp);
    CHECK_FALSE(l.reuse_port);
    CHECK(l.balancer == BalancePolicy::round_robin);
    CHECK(l.handler == Handler::echo);
    CHECK(l.upstream.empty());
    CHECK(l.idle_timeout == 0ms);
    CHECK(l.max_connections == 0);
    CHECK(l.backlog == 511);
    CHECK(l.buffer_size == 16 * 1024);
    CHECK(l.max_buffer_size == 64 * 1024);
    CHECK_FALSE(l.codec.has_value());
    CHECK(l.frame_timeout == 30s);
    CHECK(o.listeners[1].file_mode == 0660);
    CHECK(o.listeners[1].handler == Handler::none);
}

TEST_CASE("a full file round-trips into the right option values", "[config][loader]") {
    auto result = load_config_string(R"(# every key set to a non-default value
loops: 4
tick: 250ms
log_every: 10
shutdown_timeout: 1m30s
plugin_dir: /opt/switchyard/plugins
log: {level: debug, format: json}
metrics: {listen: "[::1]:9464", path: /stats}
upstreams:
  - name: web
    balancer: source-addr-hash
    connect_timeout: 1.5s
    connect_attempts: 5
    endpoints:
      - 127.0.0.1:8080
      - {address: "unix:/run/app.sock", weight: 2}
      - {address: "[::1]:8081"}
    codec: {plugin: length-field, length_field_length: "4"}
listeners:
  - name: web-in
    protocol: tcp
    listen: 0.0.0.0:8000
    reuse_port: true
    balancer: least-connections
    upstream: web
    idle_timeout: 5m
    max_connections: 10000
    backlog: 1024
    buffer_size: 64KiB
    max_buffer_size: 256KiB
    codec: {plugin: line, strip_cr: true, max_frame: 64KiB}
    frame_timeout: 2s
  - name: local
    protocol: unix
    listen: unix:/run/switchyard/local.sock
    mode: "0660"
    handler: echo
  - name: local-int-mode
    protocol: unix
    listen: /run/switchyard/other.sock
    mode: 600
    handler: echo
loop_wait: block
)");
    INFO((result.errors.empty() ? "" : result.errors[0].format()));
    REQUIRE(result.errors.empty());
    const Options& o = *result.options;
    CHECK(o.loops == 4);
    CHECK(o.loop_wait == LoopWait::block);
    CHECK(o.tick == 250ms);
    CHECK(o.log_every == 10);
    CHECK(o.shutdown_timeout == 90s);
    CHECK(o.plugin_dir == "/opt/switchyard/plugins");
    CHECK(o.log.level == "debug");
    CHECK(o.log.format == LogFormat::json);
    CHECK(o.metrics.listen == "[::1]:9464");
    CHECK(o.metrics.path == "/stats");

    REQUIRE(o.upstreams.size() == 1);
    const UpstreamOptions& up = o.upstreams[0];
    CHECK(up.name == "web");
    CHECK(up.balancer == BalancePolicy::source_addr_hash);
    CHECK(up.connect_timeout == 1500ms);
    CHECK(up.connect_attempts == 5);
    REQUIRE(up.endpoints.size() == 3);
    CHECK(up.endpoints[0].address == "127.0.0.1:8080");
    CHECK(up.endpoints[0].weight == 1);
    CHECK(up.endpoints[1].address == "unix:/run/app.sock");
    CHECK(up.endpoints[1].weight == 2);
    CHECK(up.endpoints[2].address == "[::1]:8081");
    REQUIRE(up.codec.has_value());
    CHECK(up.codec->plugin == "length-field");
    CHECK(up.codec->options == std::vector<std::pair<std::string, std::string>>{{"length_field_length", "4"}});
    CHECK(up.codec->mark.path == "upstreams[0].codec");
    CHECK(up.codec->mark.line == 18);
    CHECK(up.codec->mark.column == 12);

    REQUIRE(o.listeners.size() == 3);
    const ListenerOptions& web = o.listeners[0];
    CHECK(web.name == "web-in");
    CHECK(web.protocol == ListenerProtocol::tcp);
    CHECK(web.listen == "0.0.0.0:8000");
    CHECK(web.reuse_port);
    CHECK(web.balancer == BalancePolicy::least_connections);
    CHECK(web.upstream == "web");
    CHECK(web.handler == Handler::none);
    CHECK(web.idle_timeout == 5min);
    CHECK(web.max_connections == 10000);
    CHECK(web.backlog == 1024);
    CHECK(web.buffer_size == 64 * 1024);
    CHECK(web.max_buffer_size == 256 * 1024);
    CHECK(web.frame_timeout == 2s);
    REQUIRE(web.codec.has_value());
    CHECK(web.codec->plugin == "line");
    // Options reach the plugin as written, in YAML order.
    CHECK(web.codec->options ==
          std::vector<std::pair<std::string, std::string>>{{"strip_cr", "true"}, {"max_frame", "64KiB"}});
    CHECK(web.codec->mark.path == "listeners[0].codec");
    CHECK(web.codec->mark.line == 31);
    REQUIRE(web.codec->option_marks.count("max_frame") == 1);
    const SourceMark& max_frame = web.codec->option_marks.at("max_frame");
    CHECK(max_frame.path == "listeners[0].codec.max_frame");
    CHECK(max_frame.line == 31);
    CHECK(max_frame.column == 54);

    const ListenerOptions& local = o.listeners[1];
    CHECK(local.protocol == ListenerProtocol::unix_stream);
    CHECK(local.listen == "/run/switchyard/local.sock");  // the path, without "unix:"
    CHECK(local.file_mode == 0660);
    CHECK(local.handler == Handler::echo);
    CHECK(o.listeners[2].file_mode == 0600);  // integers are read as octal too, like chmod
}

TEST_CASE("booleans, zero durations and explicit empty values that mean 'off'", "[config][loader]") {
    auto result = load_config_string(
        "shutdown_timeout: 0\n"
        "metrics: {listen: \"\"}\n"
        "listeners:\n"
        "  - {name: a, listen: \"127.0.0.1:0\", handler: echo, reuse_port: yes, idle_timeout: 0}\n"
        "  - {name: b, listen: \"127.0.0.1:0\", handler: echo, reuse_port: off}\n");
    REQUIRE(result.errors.empty());
    CHECK(result.options->shutdown_timeout == 0ms);
    CHECK(result.options->metrics.listen.empty());
    CHECK(result.options->listeners[0].reuse_port);
    CHECK_FALSE(result.options->listeners[1].reuse_port);
}

TEST_CASE("load_config_file reads a file and reports an unreadable one", "[config][loader]") {
    auto missing = load_config_file("/nonexistent/switchyard.yaml");
    REQUIRE(missing.errors.size() == 1);
    CHECK_FALSE(missing.options.has_value());
    CHECK(missing.errors[0].format("/nonexistent/switchyard.yaml") ==
          "/nonexistent/switchyard.yaml: cannot read /nonexistent/switchyard.yaml: No such file or directory");

    auto directory = load_config_file("/");
    REQUIRE(directory.errors.size() == 1);
    CHECK_FALSE(directory.options.has_value());
    CHECK(directory.errors[0].message == "cannot read /: it is a directory");
}

TEST_CASE("unix socket modes are octal in every spelling chmod users write", "[config][loader]") {
    for (const char* mode : {"\"0660\"", "660", "0660", "0o660", "\"660\""}) {
        auto result = load_config_string(std::string("listeners:\n"
                                                     "  - {name: s, protocol: unix, listen: /run/s.sock, handler: echo, mode: ") +
                                         mode + "}\n");
        INFO(mode);
        REQUIRE(result.errors.empty());
        CHECK(result.options->listeners[0].file_mode == 0660);
    }
}

TEST_CASE("max_buffer_size follows a larger buffer_size unless it is set", "[config][loader]") {
    auto result = load_config_string(
        "listeners:\n"
        "  - {name: a, listen: \"127.0.0.1:0\", handler: echo, buffer_size: 1MiB}\n"
        "  - {name: b, listen: \"127.0.0.1:0\", handler: echo, buffer_size: 4KiB, max_buffer_size: 4KiB}\n");
    REQUIRE(result.errors.empty());
    CHECK(result.options->listeners[0].max_buffer_size == 1024 * 1024);
    CHECK(result.options->listeners[1].max_buffer_size == 4 * 1024);
}
