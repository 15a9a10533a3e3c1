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

struct UpstreamOptions {
    std::string name;
    BalancePolicy balancer = BalancePolicy::round_robin;
    Duration connect_timeout{3000};
    std::uint32_t connect_attempts = 3;
    std::vector<EndpointOptions> endpoints;
    std::optional<CodecOptions> codec;  // default: the listener's codec
};

enum class ListenerProtocol { tcp, unix_stream };
enum class Handler { none, echo };

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
    // Unix sockets only. Owner and group (the daemon's user and group) may connect, nobody else:
    // a backend behind the socket sees the daemon's credentials, not the client's.
    std::uint32_t file_mode = 0660;
    std::uint32_t backlog = 511;
    std::uint64_t buffer_size = 16 * 1024; // per relay direction, borrowed while data flows
    // A raw direction whose reads keep filling its buffer doubles it, up to this (never below
    // buffer_size): bulk transfers take 4x fewer syscalls per byte, small messages stay small.
    std::uint64_t max_buffer_size = 64 * 1024;
    std::optional<CodecOptions> codec;
};

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
    MetricsOptions metrics;
    std::vector<UpstreamOptions> upstreams;
    std::vector<ListenerOptions> listeners;
};

}  // namespace switchyard
