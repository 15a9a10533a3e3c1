// Every class of configuration error, checked by its full text as the operator reads it:
// "LINE:COL: PATH: MESSAGE" (1-based line and column of the offending key or value).
#include <catch2/catch.hpp>

#include "ConfigTestHelpers.hpp"

using namespace switchyard;
using switchyard::test::errors_of;
using switchyard::test::kEchoListener;
using Errors = std::vector<std::string>;

namespace {

std::string with_echo(std::string_view head) { return std::string(head) + std::string(kEchoListener); }

}  // namespace

TEST_CASE("document-level errors: syntax, empty, not a mapping", "[config][errors]") {
    CHECK(errors_of("loops: [1\nlisteners: []\n") == Errors{"2:10: YAML syntax error: end of sequence flow not found"});
    CHECK(errors_of("a: 1\n  b: 2\n") == Errors{"2:4: YAML syntax error: illegal map value"});
    CHECK(errors_of("") == Errors{"the configuration is empty"});
    CHECK(errors_of("# only a comment\n") == Errors{"the configuration is empty"});
    CHECK(errors_of("- a\n- b\n") ==
          Errors{"1:1: the configuration must be a mapping of keys (loops, listeners, ...), got list"});
    CHECK(errors_of("just text\n") ==
          Errors{"1:1: the configuration must be a mapping of keys (loops, listeners, ...), got string 'just text'"});
    // The file name leads when there is one.
    auto result = load_config_string("- a\n");
    REQUIRE(result.errors.size() == 1);
    CHECK(result.errors[0].format("/etc/switchyard/switchyard.yaml") ==
          "/etc/switchyard/switchyard.yaml:1:1: the configuration must be a mapping of keys (loops, listeners, ...), got list");
}

TEST_CASE("unknown keys at every level, with did-you-mean when close", "[config][errors]") {
    CHECK(errors_of(
              "loop: 2\n"
              "log: {levl: info}\n"
              "metrics: {listen: \"\", paht: /m}\n"
              "upstreams:\n"
              "  - name: u\n"
              "    endpoints: [{address: \"127.0.0.1:1\", wieght: 2}]\n"
              "    retries: 3\n"
              "listeners:\n"
              "  - name: a\n"
              "    listen: 127.0.0.1:0\n"
              "    handler: echo\n"
              "  - name: b\n"
              "    listen: 127.0.0.1:0\n"
              "    reuse_prot: true\n"
              "    upstream: u\n") ==
          Errors{
              "1:1: loop: unknown key (did you mean loops?)",
              "2:7: log.levl: unknown key (did you mean level?)",
              "3:23: metrics.paht: unknown key (did you mean path?)",
              "6:42: upstreams[0].endpoints[0].wieght: unknown key (did you mean weight?)",
              "7:5: upstreams[0].retries: unknown key (expected one of: name, protocol, balancer, connect_timeout, "
              "connect_attempts, endpoints, codec, health_check, max_fails, fail_timeout, when_all_down, "
              "send_proxy)",
              "14:5: listeners[1].reuse_prot: unknown key (did you mean reuse_port?)",
          });
}

TEST_CASE("keys must be plain names", "[config][errors]") {
    CHECK(errors_of(with_echo("? [a, b]\n: 1\n")) == Errors{"1:3: keys must be plain names, got list"});
}

TEST_CASE("wrong types name what was expected and what was found", "[config][errors]") {
    CHECK(errors_of(with_echo("loops: many\n"
                              "tick: [1s]\n"
                              "log: info\n"
                              "plugin_dir: {a: b}\n"
                              "log_every: 1.5\n"
                              "upstreams: {name: x}\n")) ==
          Errors{
              "1:8: loops: expected integer, got string 'many'",
              "2:7: tick: expected duration (e.g. 500ms, 3s, 5m, 1h), got list",
              "3:6: log: expected mapping, got string 'info'",
              "4:13: plugin_dir: expected string, got mapping",
              "5:12: log_every: expected integer, got number 1.5",
              "6:12: upstreams: expected list, got mapping",
          });
    CHECK(errors_of("listeners:\n"
                    "  - name: a\n"
                    "    listen: 127.0.0.1:0\n"
                    "    handler: echo\n"
                    "    reuse_port: 1\n"
                    "    backlog: \"128\"\n"
                    "    max_connections:\n"
                    "  - just-a-string\n") ==
          Errors{
              "5:17: listeners[0].reuse_port: expected boolean (true or false), got integer 1",
              "6:14: listeners[0].backlog: expected integer, got string '128'",
              "7:5: listeners[0].max_connections: expected integer, got empty value",
              "8:5: listeners[1]: expected mapping, got string 'just-a-string'",
          });
}

TEST_CASE("negative and out-of-range numbers", "[config][errors]") {
    CHECK(errors_of(with_echo("loops: -1\n")) == Errors{"1:8: loops: must not be negative, got -1"});
    CHECK(errors_of(with_echo("loops: 5000\n")) == Errors{"1:8: loops: must be between 0 and 1024, got 5000"});
    CHECK(errors_of(with_echo("log_every: 0\n")) == Errors{"1:12: log_every: must be at least 1, got 0"});
    CHECK(errors_of(with_echo("loop_wait: spin\n")) == Errors{"1:12: loop_wait: 'spin' is not one of yield or block"});
    CHECK(errors_of(with_echo("tick: 0\n")) == Errors{"1:7: tick: must be at least 1ms, got 0"});
    CHECK(errors_of("upstreams:\n"
                    "  - name: u\n"
                    "    connect_attempts: 0\n"
                    "    connect_timeout: 0s\n"
                    "    endpoints: [{address: \"127.0.0.1:1\", weight: 0}, {address: \"127.0.0.1:2\", weight: 1001}]\n"
                    "listeners:\n"
                    "  - name: a\n"
                    "    listen: 127.0.0.1:0\n"
                    "    upstream: u\n"
                    "    backlog: 0\n"
                    "    buffer_size: 512B\n"
                    "    max_connections: 4294967296\n"
                    "  - name: b\n"
                    "    listen: 127.0.0.1:0\n"
                    "    handler: echo\n"
                    "    buffer_size: 32MiB\n"
                    "    backlog: 99999999999999999999999\n"
                    "  - name: c\n"
                    "    listen: 127.0.0.1:0\n"
                    "    handler: echo\n"
                    "    buffer_size: 64KiB\n"
                    "    max_buffer_size: 32KiB\n") ==
          Errors{
              "3:23: upstreams[0].connect_attempts: must be between 1 and 100, got 0",
              "4:22: upstreams[0].connect_timeout: must be at least 1ms, got 0s",
              "5:50: upstreams[0].endpoints[0].weight: must be between 1 and 1000, got 0",
              "5:87: upstreams[0].endpoints[1].weight: must be between 1 and 1000, got 1001",
              "10:14: listeners[0].backlog: must be between 1 and 65535, got 0",
              "11:18: listeners[0].buffer_size: must be between 1KiB and 16MiB, got 512B",
              "12:22: listeners[0].max_connections: must be between 0 and 4294967295, got 4294967296",
              "16:18: listeners[1].buffer_size: must be between 1KiB and 16MiB, got 32MiB",
              "17:14: listeners[1].backlog: must be between 1 and 65535, got 99999999999999999999999",
              "22:22: listeners[2].max_buffer_size: must be at least buffer_size (64KiB), got 32KiB",
          });
}

TEST_CASE("bad addresses carry the address parser's reason", "[config][errors]") {
    CHECK(errors_of("metrics: {listen: \"unix:/run/m.sock\"}\n"
                    "upstreams:\n"
                    "  - name: u\n"
                    "    endpoints: [\"127.0.0.1:0\", localhost, \"[::1:80\"]\n"
                    "listeners:\n"
                    "  - {name: a, listen: \"127.0.0.1:99999\", upstream: u}\n"
                    "  - {name: b, listen: \"unix:/run/x.sock\", handler: echo}\n"
                    "  - {name: c, protocol: unix, listen: relative.sock, handler: echo}\n"
                    "  - {name: d, listen: \"300.1.1.1:80\", handler: echo}\n") ==
          Errors{
              "1:19: metrics.listen: invalid listen address: the metrics exporter listens on tcp host:port only",
              "4:17: upstreams[0].endpoints[0]: invalid endpoint address: port 0 is not allowed here",
              "4:32: upstreams[0].endpoints[1]: invalid endpoint address: expected host:port, [v6]:port or "
              "unix:/path, got 'localhost'",
              "4:43: upstreams[0].endpoints[2]: invalid endpoint address: missing ']' in '[::1:80'",
              "6:23: listeners[0].listen: invalid listen address: bad port '99999' (expected 0-65535)",
              "7:23: listeners[1].listen: invalid listen address: a unix socket path needs 'protocol: unix'",
              "8:39: listeners[2].listen: invalid listen address: unix socket path must be absolute: 'relative.sock'",
              "9:23: listeners[3].listen: invalid listen address: '300.1.1.1' is not a valid IPv4 address",
          });
}

TEST_CASE("bad durations, sizes and enum values", "[config][errors]") {
    CHECK(errors_of("tick: 5\n"
                    "shutdown_timeout: -3s\n"
                    "log: {level: verbose, format: xml}\n"
                    "upstreams:\n"
                    "  - {name: u, balancer: round-robbin, endpoints: [\"127.0.0.1:1\"], connect_timeout: 3 seconds}\n"
                    "listeners:\n"
                    "  - {name: a, protocol: sctp, listen: \"127.0.0.1:0\", handler: echo}\n"
                    "  - {name: b, listen: \"127.0.0.1:0\", handler: echo, balancer: fastest, buffer_size: 16KB/s}\n"
                    "  - {name: c, listen: \"127.0.0.1:0\", handler: echo, idle_timeout: 10 min}\n") ==
          Errors{
              "1:7: tick: missing unit in duration '5' (expected ms, s, m or h, e.g. 3s)",
              "2:19: shutdown_timeout: negative duration '-3s' is not allowed",
              "3:14: log.level: 'verbose' is not one of trace, debug, info, warn, error, critical or off",
              "3:31: log.format: 'xml' is not one of text or json",
              "5:25: upstreams[0].balancer: 'round-robbin' is not one of round-robin, source-addr-hash or "
              "least-connections (did you mean round-robin?)",
              "5:84: upstreams[0].connect_timeout: unknown unit ' seconds' in duration '3 seconds' (expected ms, s, m or h)",
              "7:25: listeners[0].protocol: 'sctp' is not one of tcp, unix or udp",
              "8:63: listeners[1].balancer: 'fastest' is not one of round-robin, source-addr-hash or least-connections",
              "8:85: listeners[1].buffer_size: unknown unit 'KB/s' in size '16KB/s' (expected bytes or a number with "
              "B, KiB, MiB, GiB, KB, MB or GB, e.g. 64KiB)",
              "9:67: listeners[2].idle_timeout: unknown unit ' min' in duration '10 min' (expected ms, s, m or h)",
          });
}

TEST_CASE("duplicate names, listen addresses and keys", "[config][errors]") {
    CHECK(errors_of("metrics: {listen: \"0.0.0.0:9000\"}\n"
                    "upstreams:\n"
                    "  - {name: u, endpoints: [\"127.0.0.1:1\"]}\n"
                    "  - {name: u, endpoints: [\"127.0.0.1:2\"]}\n"
                    "listeners:\n"
                    "  - {name: a, listen: \"127.0.0.1:9000\", upstream: u}\n"
                    "  - {name: a, listen: \"127.0.0.1:9000\", handler: echo}\n"
                    "  - {name: b, listen: \"0.0.0.0:9001\", handler: echo}\n"
                    "  - {name: c, listen: \"10.0.0.1:9001\", handler: echo}\n"
                    "  - {name: d, protocol: unix, listen: /run/s.sock, handler: echo}\n"
                    "  - {name: e, protocol: unix, listen: \"unix:/run/s.sock\", handler: echo}\n") ==
          Errors{
              "1:19: metrics.listen: address 0.0.0.0:9000 overlaps 127.0.0.1:9000, already used by listener 'a' (line 6)",
              "4:12: upstreams[1].name: duplicate upstream name 'u' (first used at line 3)",
              "7:12: listeners[1].name: duplicate listener name 'a' (first used at line 6)",
              "7:23: listeners[1].listen: address 127.0.0.1:9000 is already used by listener 'a' (line 6)",
              "9:23: listeners[3].listen: address 10.0.0.1:9001 overlaps 0.0.0.0:9001, already used by listener 'b' (line 8)",
              "11:39: listeners[5].listen: address unix:/run/s.sock is already used by listener 'd' (line 10)",
          });
    CHECK(errors_of(with_echo("loops: 1\n"
                              "loops: 2\n"
                              "log: {level: info, level: debug}\n")) ==
          Errors{
              "2:1: loops: duplicate key (first set at line 1)",
              "3:20: log.level: duplicate key (first set at line 3)",
          });
}

TEST_CASE("addresses that may legitimately repeat are not duplicates", "[config][errors]") {
    // Port 0 asks for a fresh port each time; wildcard plus specific address coexist when both
    // listeners use SO_REUSEPORT; IPv4 wildcard and an IPv6 address are separate.
    CHECK(errors_of("listeners:\n"
                    "  - {name: a, listen: \"127.0.0.1:0\", handler: echo}\n"
                    "  - {name: b, listen: \"127.0.0.1:0\", handler: echo}\n"
                    "  - {name: c, listen: \"0.0.0.0:9000\", reuse_port: true, handler: echo}\n"
                    "  - {name: d, listen: \"127.0.0.1:9000\", reuse_port: true, handler: echo}\n"
                    "  - {name: e, listen: \"[::1]:9000\", handler: echo}\n")
              .empty());
}

TEST_CASE("upstream references, handlers and required keys", "[config][errors]") {
    CHECK(errors_of("upstreams:\n"
                    "  - name: web\n"
                    "    endpoints: [\"127.0.0.1:1\"]\n"
                    "  - name: api\n"
                    "    endpoints: []\n"
                    "  - balancer: round-robin\n"
                    "listeners:\n"
                    "  - {name: a, listen: \"127.0.0.1:1\", upstream: wbe}\n"
                    "  - {name: b, listen: \"127.0.0.1:2\"}\n"
                    "  - {name: c, listen: \"127.0.0.1:3\", upstream: web, handler: echo}\n"
                    "  - {name: d, listen: \"127.0.0.1:4\", handler: echoo}\n"
                    "  - {listen: \"127.0.0.1:5\", handler: echo}\n"
                    "  - {name: f, handler: echo}\n") ==
          Errors{
              "5:16: upstreams[1].endpoints: at least one endpoint is required",
              "6:5: upstreams[2]: missing required key 'name'",
              "6:5: upstreams[2]: missing required key 'endpoints'",
              "9:5: listeners[1]: missing 'upstream' or 'handler' (a listener proxies to an upstream or runs a handler)",
              "10:53: listeners[2].handler: set either 'upstream' or 'handler', not both",
              "11:47: listeners[3].handler: 'echoo' is not one of echo (did you mean echo?)",
              "12:5: listeners[4]: missing required key 'name'",
              "13:5: listeners[5]: missing required key 'listen'",
          });
    // With every upstream readable, a dangling reference is reported with a suggestion.
    CHECK(errors_of("upstreams:\n"
                    "  - {name: web, endpoints: [\"127.0.0.1:1\"]}\n"
                    "  - {name: api, endpoints: [\"127.0.0.1:2\"]}\n"
                    "listeners:\n"
                    "  - {name: a, listen: \"127.0.0.1:1\", upstream: wbe}\n"
                    "  - {name: b, listen: \"127.0.0.1:2\", upstream: database}\n") ==
          Errors{
              "5:48: listeners[0].upstream: unknown upstream 'wbe' (did you mean web?)",
              "6:48: listeners[1].upstream: unknown upstream 'database' (defined upstreams: web, api)",
          });
    CHECK(errors_of("listeners:\n"
                    "  - {name: a, listen: \"127.0.0.1:1\", upstream: web}\n") ==
          Errors{"2:48: listeners[0].upstream: unknown upstream 'web' (no upstreams are defined)"});
    CHECK(errors_of("loops: 1\n") == Errors{"1:1: missing required key 'listeners'"});
    CHECK(errors_of("listeners: []\n") == Errors{"1:12: listeners: at least one listener is required"});
}

TEST_CASE("keys that belong to the other protocol", "[config][errors]") {
    CHECK(errors_of("listeners:\n"
                    "  - name: tcp-with-mode\n"
                    "    listen: 127.0.0.1:0\n"
                    "    mode: \"0660\"\n"
                    "    handler: echo\n"
                    "  - name: unix-with-reuse\n"
                    "    protocol: unix\n"
                    "    listen: /run/a.sock\n"
                    "    reuse_port: false\n"
                    "    handler: echo\n"
                    "  - name: bad-mode\n"
                    "    protocol: unix\n"
                    "    listen: /run/b.sock\n"
                    "    mode: \"0999\"\n"
                    "    handler: echo\n") ==
          Errors{
              "4:5: listeners[0].mode: mode applies to unix listeners only (this listener is tcp)",
              "9:5: listeners[1].reuse_port: reuse_port applies to tcp and udp listeners only, not protocol unix",
              "14:11: listeners[2].mode: expected an octal file mode between 0000 and 7777 (e.g. \"0660\"), got "
              "string '0999'",
          });
}

TEST_CASE("an unquoted IPv6 address gets a hint to quote it, wherever YAML trips on it", "[config][errors]") {
    const std::string hint_8080 = " (quote IPv6 addresses: \"[::1]:8080\"; unquoted, '[' starts a YAML list)";
    // A syntax error in a block mapping, in a flow mapping, and as a list item.
    CHECK(errors_of("listeners:\n  - name: a\n    listen: [::1]:7000\n    handler: echo\n") ==
          Errors{"3:18: YAML syntax error: end of map not found (quote IPv6 addresses: \"[::1]:7000\"; unquoted, "
                 "'[' starts a YAML list)"});
    CHECK(errors_of("upstreams:\n  - {name: u, endpoints: [{address: [::1]:8080}]}\n") ==
          Errors{"2:42: YAML syntax error: end of map flow not found" + hint_8080});
    CHECK(errors_of("upstreams:\n  - name: u\n    endpoints:\n      - [::1]:8080\n") ==
          Errors{"4:14: YAML syntax error: end of sequence not found" + hint_8080});
    // Valid YAML that means something else: a list, and a mapping of a list to a port.
    CHECK(errors_of("metrics: {listen: [::1]}\n" + std::string(kEchoListener)) ==
          Errors{"1:19: metrics.listen: expected string, got list (quote IPv6 addresses: \"[::1]\")"});
    CHECK(errors_of("upstreams:\n  - {name: u, endpoints: [[::1]:8080]}\n" + std::string(kEchoListener)) ==
          Errors{"2:27: upstreams[0].endpoints[0]: expected an address or a mapping with address and weight, got "
                 "mapping (quote IPv6 addresses: \"[::1]:8080\")"});
    // Quoted, or in a comment: no hint for a syntax error elsewhere on the line.
    CHECK(errors_of("a: \"[::1]:1\" # [::1]:2\n  b: [\n") == Errors{"2:3: YAML syntax error: end of map not found"});
}

TEST_CASE("frame_timeout needs a codec, and is a duration", "[config][errors]") {
    CHECK(errors_of("listeners:\n"
                    "  - {name: raw, listen: \"127.0.0.1:0\", handler: echo, frame_timeout: 5s}\n"
                    "  - {name: lines, listen: \"127.0.0.1:0\", handler: echo, codec: {plugin: line}, "
                    "frame_timeout: 5}\n") ==
          Errors{
              "2:55: listeners[0].frame_timeout: frame_timeout applies to listeners with a codec (this one relays "
              "raw bytes)",
              "3:95: listeners[1].frame_timeout: missing unit in duration '5' (expected ms, s, m or h, e.g. 3s)",
          });
}

TEST_CASE("udp listeners: their own keys, stream keys refused, the stream-only keys of udp refused", "[config][errors]") {
    CHECK(errors_of("listeners:\n"
                    "  - name: u\n"
                    "    protocol: udp\n"
                    "    listen: 127.0.0.1:0\n"
                    "    max_connections: 10\n"
                    "    backlog: 5\n"
                    "    buffer_size: 4KiB\n"
                    "    mode: \"0660\"\n"
                    "    max_datagram: 70000\n"
                    "    handler: echo\n"
                    "  - {name: t, listen: \"127.0.0.1:0\", handler: echo, max_sessions: 5, responses: 1}\n") ==
          Errors{
              "5:5: listeners[0].max_connections: max_connections applies to stream listeners (tcp, unix) only, not "
              "protocol udp (a udp listener limits its sessions with max_sessions)",
              "6:5: listeners[0].backlog: backlog applies to stream listeners (tcp, unix) only, not protocol udp",
              "7:5: listeners[0].buffer_size: buffer_size applies to stream listeners (tcp, unix) only, not protocol "
              "udp (a udp listener sizes its buffers with max_datagram)",
              "8:5: listeners[0].mode: mode applies to unix listeners only (this listener is udp)",
              "9:19: listeners[0].max_datagram: must be between 1B and 65507B, got 70000",
              "11:53: listeners[1].max_sessions: max_sessions applies to udp listeners only (this listener is tcp)",
              "11:70: listeners[1].responses: responses applies to udp listeners only (this listener is tcp)",
          });
}

TEST_CASE("a udp echo listener refuses the keys that shape sessions: it opens none", "[config][errors]") {
    CHECK(errors_of("listeners:\n"
                    "  - {name: e, protocol: udp, listen: \"127.0.0.1:0\", handler: echo, max_sessions: 3, responses: 1,"
                    " idle_timeout: 5s}\n") ==
          Errors{
              "2:68: listeners[0].max_sessions: max_sessions shapes udp sessions, and a udp listener with handler: "
              "echo opens none (it answers each datagram by itself)",
              "2:85: listeners[0].responses: responses shapes udp sessions, and a udp listener with handler: echo "
              "opens none (it answers each datagram by itself)",
              "2:99: listeners[0].idle_timeout: idle_timeout shapes udp sessions, and a udp listener with handler: "
              "echo opens none (it answers each datagram by itself)",
          });
}

TEST_CASE("a tcp and a udp listener may share an address and port; two udp listeners may not", "[config][errors]") {
    CHECK(errors_of("listeners:\n"
                    "  - {name: t, listen: \"127.0.0.1:5353\", handler: echo}\n"
                    "  - {name: u, protocol: udp, listen: \"127.0.0.1:5353\", handler: echo}\n"
                    "  - {name: w, protocol: udp, listen: \"0.0.0.0:5353\", handler: echo}\n") ==
          Errors{"4:38: listeners[2].listen: address 0.0.0.0:5353 overlaps 127.0.0.1:5353, already used by listener "
                 "'u' (line 3)"});
}

TEST_CASE("streams and datagrams: mixes that cannot work", "[config][errors]") {
    CHECK(errors_of("upstreams:\n"
                    "  - {name: dns, endpoints: [\"127.0.0.1:53\", \"unix:/run/dns.sock\"]}\n"
                    "  - {name: stream, protocol: tcp, endpoints: [\"127.0.0.1:53\"]}\n"
                    "  - {name: dgram, protocol: udp, endpoints: [\"unix:/run/x.sock\"]}\n"
                    "listeners:\n"
                    "  - {name: a, protocol: udp, listen: \"127.0.0.1:0\", upstream: dns}\n"
                    "  - {name: b, protocol: udp, listen: \"127.0.0.1:0\", upstream: stream}\n"
                    "  - {name: c, listen: \"127.0.0.1:0\", upstream: dgram}\n") ==
          Errors{
              "2:45: upstreams[0].endpoints[1]: upstream 'dns' serves udp listener 'a', so its endpoints are UDP; a "
              "unix: endpoint is a stream socket (to bridge datagrams to it, set protocol: tcp on the upstream and "
              "give the listener a codec)",
              "3:30: upstreams[1].protocol: listener 'b' speaks udp and upstream 'stream' speaks tcp: a bridge "
              "between datagrams and streams needs a codec on the listener (each frame is one datagram)",
              "4:29: upstreams[2].protocol: listener 'c' speaks tcp and upstream 'dgram' speaks udp: a bridge "
              "between datagrams and streams needs a codec on the listener (each frame is one datagram)",
              "4:46: upstreams[2].endpoints[0]: a unix: endpoint is a stream socket; an upstream with protocol udp "
              "needs host:port endpoints",
          });
}

TEST_CASE("a health check speaks one transport: not for an upstream that is UDP and stream", "[config][errors]") {
    CHECK(errors_of("upstreams:\n"
                    "  - name: dns\n"
                    "    endpoints: [\"127.0.0.1:53\"]\n"
                    "    health_check: {interval: 1s}\n"
                    "listeners:\n"
                    "  - {name: d, protocol: udp, listen: \"127.0.0.1:0\", upstream: dns}\n"
                    "  - {name: t, listen: \"127.0.0.1:0\", upstream: dns}\n") ==
          Errors{"4:5: upstreams[0].health_check: upstream 'dns' serves udp listener 'd' and stream listener 't', so "
                 "its endpoints are UDP for one and streams for the other, and one health check cannot speak both; "
                 "declare an upstream for each (protocol: udp on the one for the udp listener)"});
    // Each kind alone is fine, and so is a bridge (the upstream's protocol decides), or the
    // shared upstream without a check.
    CHECK(errors_of("upstreams:\n"
                    "  - {name: dns, endpoints: [\"127.0.0.1:53\"], health_check: {}}\n"
                    "  - {name: dns-udp, protocol: udp, endpoints: [\"127.0.0.1:53\"], health_check: {}}\n"
                    "  - {name: shared, endpoints: [\"127.0.0.1:53\"]}\n"
                    "listeners:\n"
                    "  - {name: d, protocol: udp, listen: \"127.0.0.1:0\", upstream: dns}\n"
                    "  - {name: t, listen: \"127.0.0.1:0\", upstream: dns-udp, codec: {plugin: line}}\n"
                    "  - {name: u, protocol: udp, listen: \"127.0.0.1:0\", upstream: dns-udp}\n"
                    "  - {name: s1, protocol: udp, listen: \"127.0.0.1:0\", upstream: shared}\n"
                    "  - {name: s2, listen: \"127.0.0.1:0\", upstream: shared}\n")
              .empty());
}

TEST_CASE("codec blocks: plugin required, option values scalar", "[config][errors]") {
    CHECK(errors_of("listeners:\n"
                    "  - {name: a, listen: \"127.0.0.1:0\", handler: echo, codec: line}\n"
                    "  - {name: b, listen: \"127.0.0.1:0\", handler: echo, codec: {max_frame: 64KiB}}\n"
                    "  - name: c\n"
                    "    listen: 127.0.0.1:0\n"
                    "    handler: echo\n"
                    "    codec:\n"
                    "      plugin: delimiter\n"
                    "      delimiters: [\",\", \";\"]\n"
                    "      plugin: line\n") ==
          Errors{
              "2:60: listeners[0].codec: expected mapping, got string 'line'",
              "3:60: listeners[1].codec: missing required key 'plugin'",
              "9:19: listeners[2].codec.delimiters: codec options must be scalar values (a string, number or "
              "boolean), got list",
              "10:7: listeners[2].codec.plugin: duplicate key (first set at line 8)",
          });
}

TEST_CASE("metrics path must be an absolute HTTP path", "[config][errors]") {
    CHECK(errors_of(with_echo("metrics: {listen: \"127.0.0.1:0\", path: metrics}\n")) ==
          Errors{"1:40: metrics.path: path must start with '/' and contain no spaces, '?' or '#', got 'metrics'"});
    CHECK(errors_of(with_echo("metrics: {listen: \"127.0.0.1:0\", path: /healthz}\n")) ==
          Errors{"1:40: metrics.path: path '/healthz' is taken by the admin endpoint (/ and /healthz); use e.g. "
                 "/metrics"});
}

TEST_CASE("one pass reports every error of a file, in file order", "[config][errors]") {
    auto result = load_config_string(R"(loops: -2
tick: 10
log: {level: loud}
upstreams:
  - name: web
    balancer: random
    endpoints: [127.0.0.1:80, 127.0.0.1:99999]
listeners:
  - name: in
    listen: 0.0.0.0:8000
    reuse_prot: true
    upstream: webb
    buffer_size: huge
  - name: in
    listen: 0.0.0.0:8000
    handler: echo
    mode: "0600"
)");
    CHECK_FALSE(result.options.has_value());
    std::vector<std::string> formatted;
    for (const auto& e : result.errors) formatted.push_back(e.format("switchyard.yaml"));
    CHECK(formatted ==
          Errors{
              "switchyard.yaml:1:8: loops: must not be negative, got -2",
              "switchyard.yaml:2:7: tick: missing unit in duration '10' (expected ms, s, m or h, e.g. 3s)",
              "switchyard.yaml:3:14: log.level: 'loud' is not one of trace, debug, info, warn, error, critical or off",
              "switchyard.yaml:6:15: upstreams[0].balancer: 'random' is not one of round-robin, source-addr-hash or "
              "least-connections",
              "switchyard.yaml:7:31: upstreams[0].endpoints[1]: invalid endpoint address: bad port '99999' "
              "(expected 0-65535)",
              "switchyard.yaml:11:5: listeners[0].reuse_prot: unknown key (did you mean reuse_port?)",
              "switchyard.yaml:12:15: listeners[0].upstream: unknown upstream 'webb' (did you mean web?)",
              "switchyard.yaml:13:18: listeners[0].buffer_size: bad size 'huge' (expected bytes or a number with B, "
              "KiB, MiB, GiB, KB, MB or GB, e.g. 64KiB)",
              "switchyard.yaml:14:11: listeners[1].name: duplicate listener name 'in' (first used at line 9)",
              "switchyard.yaml:15:13: listeners[1].listen: address 0.0.0.0:8000 is already used by listener 'in' "
              "(line 10)",
              "switchyard.yaml:17:5: listeners[1].mode: mode applies to unix listeners only (this listener is tcp)",
          });
}
