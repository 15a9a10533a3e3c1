// The keys of issue 14: access rules, connection limits, the PROXY protocol, unix socket owner
// and group, send_proxy, and the user to run as. What loads, with its defaults, and every
// mistake with its YAML path and line.
#include <catch2/catch.hpp>

#include "ConfigTestHelpers.hpp"

using namespace switchyard;
using namespace std::chrono_literals;
using switchyard::test::errors_of;
using Errors = std::vector<std::string>;

namespace {

Options load(std::string_view yaml) {
    auto result = load_config_string(yaml);
    for (const auto& e : result.errors) UNSCOPED_INFO(e.format());
    REQUIRE(result.errors.empty());
    return *result.options;
}

// One tcp echo listener with `extra` keys (each line indented by 4).
std::string listener_with(std::string_view extra) {
    return "listeners:\n"
           "  - name: e\n"
           "    listen: 127.0.0.1:0\n"
           "    handler: echo\n" +
           std::string(extra);
}

std::vector<std::string> rules_of(const ListenerOptions& l) {
    std::vector<std::string> out;
    for (const auto& r : l.access)
        out.push_back(std::string(r.action == AccessAction::allow ? "allow " : "deny ") + r.source.to_string());
    return out;
}

}  // namespace

TEST_CASE("admission keys default to off", "[config][admission]") {
    const Options o = load(listener_with(""));
    const ListenerOptions& l = o.listeners[0];
    CHECK(l.access.empty());
    CHECK(l.max_connections_per_ip == 0);
    CHECK(l.rate_limit.per_second == 0);
    CHECK(l.first_byte_timeout == 0ms);
    CHECK(l.proxy_protocol == ProxyProtocolMode::off);
    CHECK(l.trusted_sources.empty());
    CHECK(l.proxy_protocol_timeout == 5s);
}

TEST_CASE("access rules keep their order; a rule may name one network or a list", "[config][admission]") {
    const Options o = load(listener_with("    access:\n"
                                         "      - deny: 10.1.2.3\n"
                                         "      - allow: [10.0.0.0/8, \"2001:db8::/32\", \"::1\"]\n"
                                         "      - allow: [::1]\n"
                                         "      - deny: all\n"));
    CHECK(rules_of(o.listeners[0]) == Errors{"deny 10.1.2.3/32", "allow 10.0.0.0/8", "allow 2001:db8::/32",
                                              "allow ::1/128", "allow ::1/128", "deny all"});
}

TEST_CASE("access rule mistakes name the rule and the network", "[config][admission]") {
    CHECK(errors_of(listener_with("    access:\n"
                                  "      - allow: 10.0.0.1/8\n"
                                  "      - deny: 300.0.0.0/8\n"
                                  "      - alow: all\n"
                                  "      - {allow: all, deny: all}\n"
                                  "      - deny\n"
                                  "      - allow: []\n")) ==
          Errors{
              "6:16: listeners[0].access[0].allow: '10.0.0.1/8' has bits set below its /8 prefix (did you mean "
              "10.0.0.0/8?)",
              "7:15: listeners[0].access[1].deny: '300.0.0.0/8' is not an IP network (expected e.g. 10.0.0.0/8, "
              "\"2001:db8::/32\", 192.0.2.7 or all)",
              "8:9: listeners[0].access[2].alow: unknown key (did you mean allow?)",
              "9:9: listeners[0].access[3]: expected one rule, '- allow: NETWORK' or '- deny: NETWORK', got mapping",
              "10:9: listeners[0].access[4]: expected one rule, '- allow: NETWORK' or '- deny: NETWORK', got string "
              "'deny'",
              "11:16: listeners[0].access[5].allow: at least one network is required",
          });
    CHECK(errors_of(listener_with("    access: {allow: all}\n")) ==
          Errors{"5:13: listeners[0].access: expected list, got mapping"});
}

TEST_CASE("limits: max_connections_per_ip, rate_limit and first_byte_timeout", "[config][admission]") {
    const Options o = load(listener_with("    max_connections_per_ip: 4\n"
                                         "    rate_limit: {connections_per_second: 100, burst: 250}\n"
                                         "    first_byte_timeout: 10s\n"));
    const ListenerOptions& l = o.listeners[0];
    CHECK(l.max_connections_per_ip == 4);
    CHECK(l.rate_limit.per_second == 100);
    CHECK(l.rate_limit.burst == 250);
    CHECK(l.first_byte_timeout == 10s);
    // The burst defaults to one second's worth.
    CHECK(load(listener_with("    rate_limit: {connections_per_second: 30}\n")).listeners[0].rate_limit.burst == 30);
    CHECK(errors_of(listener_with("    rate_limit: {burst: 5, per_second: 3}\n"
                                  "    max_connections_per_ip: -1\n"
                                  "    first_byte_timeout: 10\n")) ==
          Errors{
              "5:17: listeners[0].rate_limit: missing required key 'connections_per_second'",
              "5:28: listeners[0].rate_limit.per_second: unknown key (expected one of: connections_per_second, burst)",
              "6:29: listeners[0].max_connections_per_ip: must not be negative, got -1",
              "7:25: listeners[0].first_byte_timeout: missing unit in duration '10' (expected ms, s, m or h, e.g. 3s)",
          });
    CHECK(errors_of(listener_with("    rate_limit: {connections_per_second: 0}\n")) ==
          Errors{"5:42: listeners[0].rate_limit.connections_per_second: must be between 1 and 1000000, got 0"});
}

TEST_CASE("proxy_protocol: accept, from trusted sources, within a timeout", "[config][admission]") {
    const Options o = load(listener_with("    proxy_protocol: accept\n"
                                         "    trusted_sources: [127.0.0.1, \"10.0.0.0/8\"]\n"
                                         "    proxy_protocol_timeout: 3s\n"));
    const ListenerOptions& l = o.listeners[0];
    CHECK(l.proxy_protocol == ProxyProtocolMode::accept);
    REQUIRE(l.trusted_sources.size() == 2);
    CHECK(l.trusted_sources[1].to_string() == "10.0.0.0/8");
    CHECK(l.proxy_protocol_timeout == 3s);
    CHECK(load(listener_with("    proxy_protocol: accept\n    trusted_sources: 127.0.0.1\n"))
              .listeners[0]
              .trusted_sources.size() == 1);
    CHECK(load(listener_with("    proxy_protocol: off\n")).listeners[0].proxy_protocol == ProxyProtocolMode::off);
}

TEST_CASE("proxy_protocol mistakes: a bad mode, its keys without it, a zero timeout", "[config][admission]") {
    CHECK(errors_of(listener_with("    proxy_protocol: v2\n")) ==
          Errors{"5:21: listeners[0].proxy_protocol: 'v2' is not one of off or accept"});
    CHECK(errors_of(listener_with("    trusted_sources: [127.0.0.1]\n"
                                  "    proxy_protocol_timeout: 3s\n")) ==
          Errors{
              "5:5: listeners[0].trusted_sources: trusted_sources applies with 'proxy_protocol: accept' only",
              "6:5: listeners[0].proxy_protocol_timeout: proxy_protocol_timeout applies with 'proxy_protocol: "
              "accept' only",
          });
    CHECK(errors_of(listener_with("    proxy_protocol: accept\n    proxy_protocol_timeout: 0\n")) ==
          Errors{"6:29: listeners[0].proxy_protocol_timeout: must be at least 1ms, got 0"});
}

TEST_CASE("unix listeners take per-address keys only with proxy_protocol", "[config][admission]") {
    const std::string unix_listener = "listeners:\n"
                                      "  - name: u\n"
                                      "    protocol: unix\n"
                                      "    listen: /tmp/switchyard-admission-test.sock\n"
                                      "    handler: echo\n";
    CHECK(errors_of(unix_listener + "    access: [{deny: all}]\n    max_connections_per_ip: 2\n") ==
          Errors{
              "6:5: listeners[0].access: access needs client addresses, which unix clients do not have (unless "
              "'proxy_protocol: accept' brings them)",
              "7:5: listeners[0].max_connections_per_ip: max_connections_per_ip needs client addresses, which unix "
              "clients do not have (unless 'proxy_protocol: accept' brings them)",
          });
    CHECK(load(unix_listener + "    proxy_protocol: accept\n    access: [{deny: all}]\n").listeners[0].access.size() ==
          1);
}

TEST_CASE("send_proxy on an upstream: off, v1 or v2", "[config][admission]") {
    auto with_upstream = [](std::string_view value) {
        return "upstreams:\n"
               "  - name: up\n"
               "    endpoints: [127.0.0.1:1]\n"
               "    send_proxy: " +
               std::string(value) +
               "\n"
               "listeners:\n"
               "  - {name: p, listen: 127.0.0.1:0, upstream: up}\n";
    };
    CHECK(load(with_upstream("v2")).upstreams[0].send_proxy == SendProxy::v2);
    CHECK(load(with_upstream("v1")).upstreams[0].send_proxy == SendProxy::v1);
    CHECK(load(with_upstream("off")).upstreams[0].send_proxy == SendProxy::off);
    CHECK(errors_of(with_upstream("v3")) ==
          Errors{"4:17: upstreams[0].send_proxy: 'v3' is not one of off, v1 or v2 (did you mean v1?)"});
}

TEST_CASE("unix listeners: the socket file's owner and group, looked up when the file is read",
          "[config][admission]") {
    const std::string unix_listener = "listeners:\n"
                                      "  - name: u\n"
                                      "    protocol: unix\n"
                                      "    listen: /tmp/switchyard-admission-test.sock\n"
                                      "    handler: echo\n";
    const Options plain = load(unix_listener);
    CHECK_FALSE(plain.listeners[0].owner_uid);
    CHECK_FALSE(plain.listeners[0].group_gid);
    const Options o = load(unix_listener + "    owner: nobody\n    group: \"0\"\n");
    CHECK(o.listeners[0].owner == "nobody");
    CHECK(o.listeners[0].owner_uid == 65534u);
    CHECK(o.listeners[0].group_gid == 0u);
    CHECK(errors_of(unix_listener + "    owner: no-such-user-here\n    group: no-such-group-here\n") ==
          Errors{
              "6:12: listeners[0].owner: no user 'no-such-user-here' on this system",
              "7:12: listeners[0].group: no group 'no-such-group-here' on this system",
          });
    CHECK(errors_of(listener_with("    owner: nobody\n    group: nogroup\n")) ==
          Errors{
              "5:5: listeners[0].owner: owner applies to unix listeners only (this listener is tcp)",
              "6:5: listeners[0].group: group applies to unix listeners only (this listener is tcp)",
          });
}

TEST_CASE("user and group to run as, resolved when the file is read", "[config][admission]") {
    const Options defaults = load(listener_with(""));
    CHECK_FALSE(defaults.user_uid);
    CHECK_FALSE(defaults.allow_writable_plugins);
    const Options o = load("user: nobody\n" + listener_with(""));
    CHECK(o.user == "nobody");
    CHECK(o.user_uid == 65534u);
    CHECK(o.user_gid == 65534u);  // the user's primary group
    const Options g = load("user: nobody\ngroup: root\n" + listener_with(""));
    CHECK(g.user_gid == 0u);
    CHECK(g.group == "root");
    CHECK(load("user: \"65534\"\n" + listener_with("")).user_uid == 65534u);
    CHECK(load("allow_writable_plugins: true\n" + listener_with("")).allow_writable_plugins);
    CHECK(errors_of("user: nobdy\ngroup: nogrup\n" + listener_with("")) ==
          Errors{"1:7: user: no user 'nobdy' on this system", "2:8: group: no group 'nogrup' on this system"});
    CHECK(errors_of("group: nogroup\n" + listener_with("")) ==
          Errors{"1:1: group: group needs 'user' (the user to switch to once the sockets are bound)"});
    // A uid the account database does not know has no group to take: it must be given.
    CHECK(errors_of("user: \"4000000\"\n" + listener_with("")) ==
          Errors{"1:7: user: user 4000000 has no entry in the account database, so no group: set 'group' too"});
    CHECK(load("user: \"4000000\"\ngroup: \"4000000\"\n" + listener_with("")).user_gid == 4000000u);
}

namespace {

// One udp listener in front of a UDP upstream, with `extra` keys (each line indented by 4).
std::string udp_listener_with(std::string_view extra) {
    return "upstreams:\n"
           "  - {name: dns, endpoints: [127.0.0.1:53]}\n"
           "listeners:\n"
           "  - name: u\n"
           "    protocol: udp\n"
           "    listen: 127.0.0.1:0\n"
           "    upstream: dns\n" +
           std::string(extra);
}

}  // namespace

TEST_CASE("udp listeners: access rules, rate_limit in sessions, max_sessions_per_ip", "[config][admission][udp]") {
    const Options o = load(udp_listener_with("    access: [{allow: 127.0.0.1}, {deny: all}]\n"
                                             "    rate_limit: {sessions_per_second: 50, burst: 200}\n"
                                             "    max_sessions_per_ip: 8\n"));
    const ListenerOptions& l = o.listeners[0];
    CHECK(rules_of(l) == Errors{"allow 127.0.0.1/32", "deny all"});
    CHECK(l.rate_limit.per_second == 50);
    CHECK(l.rate_limit.burst == 200);
    CHECK(l.max_sessions_per_ip == 8);
    // Off by default; the burst defaults to one second's worth, as on a stream listener.
    const ListenerOptions plain = load(udp_listener_with("")).listeners[0];
    CHECK(plain.access.empty());
    CHECK(plain.rate_limit.per_second == 0);
    CHECK(plain.max_sessions_per_ip == 0);
    CHECK(load(udp_listener_with("    rate_limit: {sessions_per_second: 7}\n")).listeners[0].rate_limit.burst == 7);
    // handler echo opens no sessions, but its access rules hold for every datagram.
    CHECK(load("listeners:\n"
               "  - {name: e, protocol: udp, listen: 127.0.0.1:0, handler: echo, access: [{deny: all}]}\n")
              .listeners[0]
              .access.size() == 1);
}

TEST_CASE("rate_limit is spelt by what it counts: sessions on udp, connections on tcp", "[config][admission][udp]") {
    CHECK(errors_of(udp_listener_with("    rate_limit: {connections_per_second: 50, burst: 100}\n")) ==
          Errors{"8:18: listeners[0].rate_limit.connections_per_second: a udp listener limits new sessions (a client "
                 "address's first datagram opens one), not connections: use sessions_per_second"});
    CHECK(errors_of(listener_with("    rate_limit: {sessions_per_second: 50}\n")) ==
          Errors{"5:18: listeners[0].rate_limit.sessions_per_second: sessions_per_second applies to udp listeners; a "
                 "stream listener limits new connections with connections_per_second"});
    CHECK(errors_of(udp_listener_with("    rate_limit: {burst: 5}\n"
                                      "    max_sessions_per_ip: -2\n")) ==
          Errors{
              "8:17: listeners[0].rate_limit: missing required key 'sessions_per_second'",
              "9:26: listeners[0].max_sessions_per_ip: must not be negative, got -2",
          });
    CHECK(errors_of(udp_listener_with("    rate_limit: {sessions_per_second: 0}\n")) ==
          Errors{"8:39: listeners[0].rate_limit.sessions_per_second: must be between 1 and 1000000, got 0"});
}

TEST_CASE("udp listeners refuse the stream-only admission keys, saying why", "[config][admission][udp]") {
    CHECK(errors_of(udp_listener_with("    max_connections_per_ip: 4\n"
                                      "    first_byte_timeout: 5s\n"
                                      "    proxy_protocol: accept\n"
                                      "    trusted_sources: [10.0.0.0/8]\n"
                                      "    proxy_protocol_timeout: 3s\n")) ==
          Errors{
              "8:5: listeners[0].max_connections_per_ip: max_connections_per_ip applies to stream listeners (tcp, "
              "unix) only, not protocol udp (a udp listener limits each client address with max_sessions_per_ip)",
              "9:5: listeners[0].first_byte_timeout: first_byte_timeout applies to stream listeners (tcp, unix) only, "
              "not protocol udp (a udp session opens with its first datagram: there is no first byte to wait for)",
              "10:5: listeners[0].proxy_protocol: proxy_protocol applies to stream listeners (tcp, unix) only, not "
              "protocol udp (a PROXY protocol header is read on stream connections only: a udp listener takes each "
              "datagram's source address as the client)",
              "11:5: listeners[0].trusted_sources: trusted_sources applies to stream listeners (tcp, unix) only, not "
              "protocol udp (a PROXY protocol header is read on stream connections only: a udp listener takes each "
              "datagram's source address as the client)",
              "12:5: listeners[0].proxy_protocol_timeout: proxy_protocol_timeout applies to stream listeners (tcp, "
              "unix) only, not protocol udp (a PROXY protocol header is read on stream connections only: a udp "
              "listener takes each datagram's source address as the client)",
          });
    CHECK(errors_of(listener_with("    max_sessions_per_ip: 4\n")) ==
          Errors{"5:5: listeners[0].max_sessions_per_ip: max_sessions_per_ip applies to udp listeners only (this "
                 "listener is tcp) (a stream listener limits each client address with max_connections_per_ip)"});
}

TEST_CASE("session limits on udp listeners that open no sessions are errors", "[config][admission][udp]") {
    CHECK(errors_of("listeners:\n"
                    "  - name: e\n"
                    "    protocol: udp\n"
                    "    listen: 127.0.0.1:0\n"
                    "    handler: echo\n"
                    "    rate_limit: {sessions_per_second: 5}\n"
                    "    max_sessions_per_ip: 2\n") ==
          Errors{
              "6:5: listeners[0].rate_limit: rate_limit on a udp listener limits new sessions, and this listener "
              "opens none (handler echo answers each datagram as it comes)",
              "7:5: listeners[0].max_sessions_per_ip: max_sessions_per_ip limits sessions, and this listener opens "
              "none (handler echo answers each datagram as it comes)",
          });
    CHECK(errors_of("upstreams:\n"
                    "  - {name: logs, protocol: tcp, endpoints: [127.0.0.1:514]}\n"
                    "listeners:\n"
                    "  - name: syslog\n"
                    "    protocol: udp\n"
                    "    listen: 127.0.0.1:0\n"
                    "    upstream: logs\n"
                    "    codec: {plugin: line}\n"
                    "    access: [{deny: all}]\n"
                    "    rate_limit: {sessions_per_second: 5}\n") ==
          Errors{"10:5: listeners[0].rate_limit: rate_limit on a udp listener limits new sessions, and this listener "
                 "opens none (its datagrams go onto pooled connections to stream upstream 'logs')"});
}

TEST_CASE("send_proxy towards datagrams is refused: no PROXY header is sent on them", "[config][admission][udp]") {
    // The upstream takes the udp listener's protocol.
    CHECK(errors_of("upstreams:\n"
                    "  - {name: dns, endpoints: [127.0.0.1:53], send_proxy: v2}\n"
                    "listeners:\n"
                    "  - {name: u, protocol: udp, listen: 127.0.0.1:0, upstream: dns}\n") ==
          Errors{"2:56: upstreams[0].send_proxy: upstream 'dns' serves udp listener 'u' over UDP, and a PROXY "
                 "protocol header is not sent on datagrams (HAProxy and nginx send none over UDP either); stream "
                 "listeners that need it can have an upstream of their own"});
    // An upstream of UDP endpoints by its own protocol (here behind a tcp listener's bridge).
    CHECK(errors_of("upstreams:\n"
                    "  - {name: dns, protocol: udp, endpoints: [127.0.0.1:53], send_proxy: v1}\n"
                    "listeners:\n"
                    "  - {name: t, listen: 127.0.0.1:0, upstream: dns, codec: {plugin: length-field}}\n") ==
          Errors{"2:71: upstreams[0].send_proxy: upstream 'dns' has protocol udp, and a PROXY protocol header is not "
                 "sent on datagrams (HAProxy and nginx send none over UDP either)"});
    // A udp listener's bridge onto a stream upstream shares one connection among its clients.
    CHECK(errors_of("upstreams:\n"
                    "  - {name: logs, protocol: tcp, endpoints: [127.0.0.1:514], send_proxy: v1}\n"
                    "listeners:\n"
                    "  - {name: s, protocol: udp, listen: 127.0.0.1:0, upstream: logs, codec: {plugin: line}}\n") ==
          Errors{"2:73: upstreams[0].send_proxy: udp listener 's' writes every client's frames onto one pooled "
                 "connection per loop to upstream 'logs', so no PROXY protocol header could name the client"});
    // send_proxy: off says nothing is sent, and a stream listener's upstream keeps it.
    CHECK(errors_of("upstreams:\n"
                    "  - {name: dns, endpoints: [127.0.0.1:53], send_proxy: off}\n"
                    "listeners:\n"
                    "  - {name: u, protocol: udp, listen: 127.0.0.1:0, upstream: dns}\n")
              .empty());
}
