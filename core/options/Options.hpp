#pragma once
// Plain option structs: the engine's whole input. config/ fills them from YAML, tests fill them
// by hand; nothing in core/ knows about YAML. Runtime construction is a pure function of these,
// so a reload can build a new runtime beside the old one.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/net/Cidr.hpp"
#include "core/options/BalancePolicy.hpp"
#include "core/options/SourceMark.hpp"

namespace switchyard {

using Duration = std::chrono::milliseconds;

enum class LogFormat { text, json };

// How a loop with nothing ready waits: yield the CPU once, then sleep; or sleep at once.
enum class LoopWait { yield, block };

struct LogOptions {
    std::string level = "info";  // trace | debug | info | warn | error | critical | off
    LogFormat format = LogFormat::text;
};

// A codec block from the YAML: `codec: {plugin: line, strip_cr: "true"}`.
// Everything but `plugin` is handed to the plugin as key/value strings.
struct CodecOptions {
    std::string plugin;                                  // name in plugin_dir, or an absolute .so path
    std::vector<std::pair<std::string, std::string>> options;  // in YAML order
    SourceMark mark;                                     // where the block starts, for late errors
    std::map<std::string, SourceMark> option_marks;      // per option key
    bool operator==(const CodecOptions& o) const { return plugin == o.plugin && options == o.options; }
};

struct EndpointOptions {
    std::string address;  // "host:port", "[v6]:port" or "unix:/path" (validated by parse_address)
    std::uint32_t weight = 1;
};

// What an upstream expects before the relayed bytes: nothing, or a PROXY protocol header (text v1
// or binary v2) naming the client, as HAProxy's send-proxy / send-proxy-v2 on a server line.
enum class SendProxy { off, v1, v2 };
// Active health checks of every endpoint of an upstream (HAProxy's `check inter rise fall`,
// nginx's `health_check`): a TCP connect, then optionally `send` and a reply containing `expect`,
// all within `timeout`, every `interval`. UDP endpoints get one datagram (`send`, or a default
// probe) and pass on a reply containing `expect`, or without `expect` unless ICMP port
// unreachable comes back (nginx Plus's `health_check udp`). `unhealthy_threshold` consecutive
// failures take a healthy endpoint out of rotation, `healthy_threshold` consecutive passes put
// it back.
struct HealthCheckOptions {
    Duration interval{5000};
    Duration timeout{1000};
    std::uint32_t healthy_threshold = 2;
    std::uint32_t unhealthy_threshold = 3;
    std::string send;    // bytes written once connected ("" = none; UDP: the default probe)
    std::string expect;  // bytes the reply must contain ("" = the connect alone decides; UDP: no refusal)
    bool operator==(const HealthCheckOptions&) const = default;
};

// What a connection does when no endpoint of its upstream is healthy: be turned away, or be
// balanced over every endpoint regardless of health (Envoy's panic mode).
enum class WhenAllDown { fail_open, reject };

constexpr const char* to_string(WhenAllDown w) { return w == WhenAllDown::reject ? "reject" : "fail-open"; }
// What an upstream's endpoints speak. `listener` (the default): whatever the listener using the
// upstream speaks (a udp listener's endpoints are UDP, a tcp or unix listener's are streams).
// An explicit value that differs from the listener's is a bridge between datagrams and streams.
enum class UpstreamProtocol { listener, tcp, udp };

struct UpstreamOptions {
    std::string name;
    UpstreamProtocol protocol = UpstreamProtocol::listener;
    BalancePolicy balancer = BalancePolicy::round_robin;
    Duration connect_timeout{3000};
    std::uint32_t connect_attempts = 3;
    std::vector<EndpointOptions> endpoints;
    std::optional<CodecOptions> codec;  // default: the listener's codec
    SendProxy send_proxy = SendProxy::off;
    std::optional<HealthCheckOptions> health_check;  // none = no active checks
    // Passive health (nginx's max_fails/fail_timeout): after max_fails consecutive failed
    // connects an endpoint gets no new connections for fail_timeout. 0 = never ejected.
    std::uint32_t max_fails = 1;
    Duration fail_timeout{10000};
    WhenAllDown when_all_down = WhenAllDown::fail_open;
};

enum class ListenerProtocol { tcp, unix_stream, udp };
enum class Handler { none, echo };

// One access rule: clients whose address lies in `source` are allowed or denied. A listener's
// rules are checked in order and the first match decides (nginx's allow/deny); a client no rule
// matches is allowed.
enum class AccessAction { allow, deny };
struct AccessRule {
    AccessAction action = AccessAction::allow;
    Cidr source;
    bool operator==(const AccessRule&) const = default;
};

// New connections (stream listeners) or new sessions (udp listeners) per second a listener
// admits: a token bucket of `burst` tokens refilled at `per_second`. The YAML spells the rate
// connections_per_second or sessions_per_second, by the kind of listener. 0 = no limit.
struct RateLimitOptions {
    std::uint32_t per_second = 0;
    std::uint32_t burst = 0;
    bool operator==(const RateLimitOptions&) const = default;
};

// Whether a listener's clients come through a load balancer that puts a PROXY protocol header
// (v1 or v2, either is accepted) before their bytes.
enum class ProxyProtocolMode { off, accept };

struct ListenerOptions {
    std::string name;
    ListenerProtocol protocol = ListenerProtocol::tcp;
    std::string listen;                    // "host:port" for tcp, a path for unix
    bool reuse_port = false;
    BalancePolicy balancer = BalancePolicy::round_robin;  // which loop serves a new connection
    std::string upstream;                  // name of an upstream, or empty with handler
    Handler handler = Handler::none;
    Duration idle_timeout{0};              // 0 = none
    // With a codec: how long a frame may take to arrive once its first byte has (a partial frame
    // held longer closes the connection, counted as codec_errors{reason="frame_timeout"}).
    // 0 = no limit.
    Duration frame_timeout{30000};
    std::uint32_t max_connections = 0;     // 0 = unlimited
    std::uint32_t max_connections_per_ip = 0;  // open connections per client IP; 0 = unlimited
    RateLimitOptions rate_limit;           // udp: new sessions
    // The client must send its first byte within this long, and the upstream is connected only
    // once it has (a silent client never reaches the backend). 0 = off: connect at once.
    Duration first_byte_timeout{0};
    std::vector<AccessRule> access;        // in order; empty = everyone (udp: checked per new session)
    ProxyProtocolMode proxy_protocol = ProxyProtocolMode::off;
    std::vector<Cidr> trusted_sources;     // with proxy_protocol: who may send one; empty = anyone
    Duration proxy_protocol_timeout{5000}; // the whole header must arrive within this
    // Unix sockets only. Owner and group (the daemon's user and group) may connect, nobody else:
    // a backend behind the socket sees the daemon's credentials, not the client's.
    std::uint32_t file_mode = 0660;
    // Unix sockets only: the socket file's owner and group (names as configured, ids resolved
    // when the config was read). Unset = the daemon's.
    std::string owner, group;
    std::optional<std::uint32_t> owner_uid, group_gid;
    std::uint32_t backlog = 511;
    std::uint64_t buffer_size = 16 * 1024; // per relay direction, borrowed while data flows
    // A raw direction whose reads keep filling its buffer doubles it, up to this (never below
    // buffer_size): bulk transfers take 4x fewer syscalls per byte, small messages stay small.
    std::uint64_t max_buffer_size = 64 * 1024;
    std::optional<CodecOptions> codec;
    // udp only. Sessions (client addresses) open at once; a datagram that would open one more is
    // dropped and counted. 0 = unlimited.
    std::uint32_t max_sessions = 0;
    // udp only. Sessions open at once per client IP address (a client with several ports has a
    // session per port); a datagram that would open one more is dropped and counted. 0 = unlimited.
    std::uint32_t max_sessions_per_ip = 0;
    // udp only. Replies after which a session ends (nginx's proxy_responses); 0 = the session
    // ends once the client's datagram is sent; unset = unlimited.
    std::optional<std::uint32_t> responses;
    // udp only. Largest datagram payload relayed, in bytes; anything larger is dropped and
    // counted, never passed on truncated. The default is the largest UDP payload over IPv4.
    std::uint32_t max_datagram = 65507;
    // udp only. SO_RCVBUF asked for each listener socket, in bytes (the kernel caps it at
    // net.core.rmem_max); the queue that absorbs bursts while a loop is busy. 0 = the kernel's default.
    std::uint64_t receive_buffer = 4 * 1024 * 1024;

    bool datagram() const { return protocol == ListenerProtocol::udp; }
};

// The default idle_timeout of a udp listener (a stream listener's is 0 = none): a datagram
// session has no end of its own.
inline constexpr Duration kDefaultDatagramIdleTimeout{60000};

struct MetricsOptions {
    std::string listen;          // empty = exporter disabled
    std::string path = "/metrics";
};

struct Options {
    std::uint32_t loops = 0;     // 0 = one per CPU core
    LoopWait loop_wait = LoopWait::yield;
    Duration tick{1000};
    std::uint32_t log_every = 60;  // ticks between info summaries
    Duration shutdown_timeout{30000};
    LogOptions log;
    std::string plugin_dir;      // empty = built-in default search path
    bool watch_config = false;   // reload when the config file changes (inotify), as on SIGHUP
    // Started as root: switch to this user (and group: `group`, or the user's own) once every
    // socket is bound. Names as configured; ids resolved when the config was read.
    std::string user, group;
    std::optional<std::uint32_t> user_uid, user_gid;
    // Load codec plugins even when their file or directory may be written by someone other
    // than root or the daemon's user (logged). Off: such plugins are refused.
    bool allow_writable_plugins = false;
    MetricsOptions metrics;
    std::vector<UpstreamOptions> upstreams;
    std::vector<ListenerOptions> listeners;
};

}  // namespace switchyard
