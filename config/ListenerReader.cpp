// Reads one element of `listeners:`.
#include <algorithm>
#include <array>
#include <limits>
#include <utility>

#include "config/AdmissionReader.hpp"
#include "config/CodecReader.hpp"
#include "config/MappingReader.hpp"
#include "config/SectionReaders.hpp"
#include "config/SizeParser.hpp"
#include "config/SystemAccounts.hpp"
#include "core/net/Address.hpp"

namespace switchyard {
namespace {

constexpr std::array<std::string_view, 29> kListenerKeys = {
    "name",         "protocol",        "listen",       "reuse_port", "balancer",    "upstream",
    "handler",      "idle_timeout",    "max_connections", "mode",    "backlog",     "buffer_size",
    "max_buffer_size", "codec",        "max_sessions", "responses",  "max_datagram", "receive_buffer",
    "frame_timeout", "max_connections_per_ip", "rate_limit", "first_byte_timeout", "access",
    "proxy_protocol", "trusted_sources", "proxy_protocol_timeout", "owner", "group", "max_sessions_per_ip"};
constexpr std::array<std::string_view, 2> kProxyProtocolModes = {"off", "accept"};
constexpr std::array<std::string_view, 3> kProtocols = {"tcp", "unix", "udp"};
constexpr std::array<ListenerProtocol, 3> kProtocolValues = {ListenerProtocol::tcp, ListenerProtocol::unix_stream,
                                                             ListenerProtocol::udp};
// The largest UDP payload over IPv4 (65,535 - 20 IP - 8 UDP header bytes).
constexpr std::uint64_t kLargestDatagram = 65507;
// Admission keys of stream listeners that a udp listener refuses, each with why. (Its access
// rules and rate_limit are read as a stream listener's, and it has max_sessions_per_ip.)
constexpr const char* kNotProxyProtocol =
    " (a PROXY protocol header is read on stream connections only: a udp listener takes each datagram's source "
    "address as the client)";
constexpr std::array<std::pair<std::string_view, const char*>, 5> kStreamAdmissionKeys = {{
    {"max_connections_per_ip", " (a udp listener limits each client address with max_sessions_per_ip)"},
    {"first_byte_timeout", " (a udp session opens with its first datagram: there is no first byte to wait for)"},
    {"proxy_protocol", kNotProxyProtocol},
    {"trusted_sources", kNotProxyProtocol},
    {"proxy_protocol_timeout", kNotProxyProtocol},
}};
constexpr std::array<std::string_view, 3> kBalancers = {"round-robin", "source-addr-hash", "least-connections"};
constexpr std::array<std::string_view, 1> kHandlers = {"echo"};

constexpr std::uint64_t kMaxBacklog = 65535;
constexpr std::uint64_t kMinBufferSize = 1024;
constexpr std::uint64_t kMaxBufferSize = 16 * 1024 * 1024;

void read_listen(YamlReader& reader, const YamlField& field, ListenerOptions& listener, ListenerSource& source) {
    auto text = reader.string(field);
    if (!text) return;
    source.listen = YamlReader::value_mark(field);
    std::string problem;
    std::optional<Address> address;
    if (listener.protocol == ListenerProtocol::unix_stream) {
        address = parse_unix_path(*text, &problem);
    } else if (text->rfind("unix:", 0) == 0) {
        problem = "a unix socket path needs 'protocol: unix'";
    } else {
        address = parse_address(*text, &problem, /*allow_port_zero=*/true);
    }
    if (!address) {
        reader.error(source.listen, "invalid listen address: " + problem);
        return;
    }
    // The engine binds unix listeners by path; tcp ones by the text as written.
    listener.listen = address->is_unix() ? address->path : *text;
    source.address = std::move(address);
}

// The keys that decide whether and when a client is served: limits, access rules, the PROXY
// protocol and the first-byte wait.
void read_admission(YamlReader& reader, const MappingReader& map, ListenerOptions& listener, bool is_unix) {
    if (auto f = map.field("max_connections_per_ip"))
        if (auto n = reader.unsigned_integer(*f, 0, std::numeric_limits<std::uint32_t>::max()))
            listener.max_connections_per_ip = static_cast<std::uint32_t>(*n);
    if (auto f = map.field("rate_limit"))
        if (auto limit = read_rate_limit(reader, *f, RateLimited::connections)) listener.rate_limit = *limit;
    if (auto f = map.field("first_byte_timeout"))
        if (auto d = reader.duration(*f, Duration{0}, Duration::max())) listener.first_byte_timeout = *d;
    const auto access = map.field("access");
    if (access) listener.access = read_access(reader, *access);

    bool mode_known = true;
    if (auto f = map.field("proxy_protocol")) {
        if (auto i = reader.choice(*f, kProxyProtocolModes))
            listener.proxy_protocol = *i == 0 ? ProxyProtocolMode::off : ProxyProtocolMode::accept;
        else
            mode_known = false;
    }
    const bool accepts = listener.proxy_protocol == ProxyProtocolMode::accept;
    // Keys that only mean something with a header to read are errors without one, rather than
    // settings that silently do nothing.
    auto needs_proxy_protocol = [&](const YamlField& f) {
        if (accepts || !mode_known) return accepts;
        reader.error(YamlReader::key_mark(f), f.path.substr(f.path.rfind('.') + 1) +
                                                  " applies with 'proxy_protocol: accept' only");
        return false;
    };
    if (auto f = map.field("trusted_sources"); f && needs_proxy_protocol(*f))
        listener.trusted_sources = read_networks(reader, *f);
    if (auto f = map.field("proxy_protocol_timeout"); f && needs_proxy_protocol(*f))
        if (auto d = reader.duration(*f, Duration{1}, Duration::max())) listener.proxy_protocol_timeout = *d;
    // Unix clients have no address: per-address keys mean something there only when a balancer
    // in front names its clients in a PROXY header.
    if (is_unix && !accepts && mode_known) {
        for (const char* key : {"access", "max_connections_per_ip"})
            if (auto f = map.field(key))
                reader.error(YamlReader::key_mark(*f), std::string(key) +
                                                           " needs client addresses, which unix clients do not have "
                                                           "(unless 'proxy_protocol: accept' brings them)");
    }
}

// A udp listener's admission, decided when a client address's datagram would open a session:
// access rules (read as a stream listener's), rate_limit in new sessions, max_sessions_per_ip.
void read_datagram_admission(YamlReader& reader, const MappingReader& map, ListenerOptions& listener,
                             ListenerSource& source) {
    if (auto f = map.field("access")) listener.access = read_access(reader, *f);
    if (auto f = map.field("rate_limit")) {
        source.rate_limit = YamlReader::key_mark(*f);
        if (auto limit = read_rate_limit(reader, *f, RateLimited::sessions)) listener.rate_limit = *limit;
    }
    if (auto f = map.field("max_sessions_per_ip")) {
        source.max_sessions_per_ip = YamlReader::key_mark(*f);
        if (auto n = reader.unsigned_integer(*f, 0, std::numeric_limits<std::uint32_t>::max()))
            listener.max_sessions_per_ip = static_cast<std::uint32_t>(*n);
    }
}

}  // namespace

void read_listener(YamlReader& reader, const YamlField& field, Options& options, ConfigSources& sources) {
    if (!reader.expect_mapping(field)) return;
    MappingReader map(reader, field.value, field.path, kListenerKeys);
    ListenerOptions listener;
    ListenerSource source;
    source.self = map.mark();

    map.read_name(listener.name, source.name);
    // The protocol decides how `listen` is read and which keys apply, so it goes first.
    bool protocol_known = true;
    if (auto f = map.field("protocol")) {
        if (auto i = reader.choice(*f, kProtocols))
            listener.protocol = kProtocolValues[*i];
        else
            protocol_known = false;
    }
    const bool is_unix = listener.protocol == ListenerProtocol::unix_stream;
    const bool is_udp = listener.protocol == ListenerProtocol::udp;
    // Keys of the other kind of listener are errors, not silently ignored.
    auto stream_only = [&](std::string_view key, const char* instead) {
        auto f = map.field(key);
        if (f && is_udp && protocol_known) {
            reader.error(YamlReader::key_mark(*f), std::string(key) + " applies to stream listeners (tcp, unix) only, not protocol udp" + instead);
            return std::optional<YamlField>();
        }
        return f;
    };
    auto datagram_only = [&](std::string_view key, const char* instead = "") {
        auto f = map.field(key);
        if (f && !is_udp && protocol_known) {
            reader.error(YamlReader::key_mark(*f), std::string(key) + " applies to udp listeners only (this listener is " +
                                                       (is_unix ? "unix" : "tcp") + ")" + instead);
            return std::optional<YamlField>();
        }
        return f;
    };
    if (auto f = map.required("listen"); f && protocol_known) read_listen(reader, *f, listener, source);

    if (auto f = map.field("reuse_port")) {
        if (is_unix && protocol_known)
            reader.error(YamlReader::key_mark(*f), "reuse_port applies to tcp and udp listeners only, not protocol unix");
        else if (auto b = reader.boolean(*f))
            listener.reuse_port = *b;
    }
    source.reuse_port = listener.reuse_port;
    source.datagram = is_udp;
    if (auto f = map.field("mode")) {
        if (!is_unix && protocol_known)
            reader.error(YamlReader::key_mark(*f), std::string("mode applies to unix listeners only (this listener is ") +
                                                       (is_udp ? "udp" : "tcp") + ")");
        else if (auto m = reader.file_mode(*f))
            listener.file_mode = *m;
    }
    if (auto f = map.field("owner")) {
        if (!is_unix && protocol_known)
            reader.error(YamlReader::key_mark(*f), "owner applies to unix listeners only (this listener is tcp)");
        else if (auto account = read_user(reader, *f, &listener.owner))
            listener.owner_uid = account->uid;
    }
    if (auto f = map.field("group")) {
        if (!is_unix && protocol_known)
            reader.error(YamlReader::key_mark(*f), "group applies to unix listeners only (this listener is tcp)");
        else
            listener.group_gid = read_group(reader, *f, &listener.group);
    }
    if (auto f = map.field("balancer"))
        if (auto i = reader.choice(*f, kBalancers)) listener.balancer = *parse_balance_policy(kBalancers[*i]);

    // Exactly one of upstream / handler: a listener either proxies or serves by itself.
    const auto upstream = map.field("upstream");
    const auto handler = map.field("handler");
    if (upstream && handler) {
        // Point at whichever of the two comes second in the file.
        const SourceMark u = YamlReader::key_mark(*upstream), h = YamlReader::key_mark(*handler);
        const bool handler_later = std::pair(h.line, h.column) > std::pair(u.line, u.column);
        reader.error(handler_later ? h : u, "set either 'upstream' or 'handler', not both");
    } else if (!upstream && !handler) {
        reader.error(map.mark(), "missing 'upstream' or 'handler' (a listener proxies to an upstream or runs a handler)");
    }
    if (upstream) {
        if (auto name = reader.string(*upstream)) {
            listener.upstream = *name;
            source.upstream = YamlReader::value_mark(*upstream);
        }
    }
    if (handler)
        if (auto i = reader.choice(*handler, kHandlers)) listener.handler = Handler::echo;

    if (is_udp) listener.idle_timeout = kDefaultDatagramIdleTimeout;
    if (auto f = map.field("idle_timeout"))
        if (auto d = reader.duration(*f, Duration{0}, Duration::max())) listener.idle_timeout = *d;
    if (auto f = stream_only("max_connections", " (a udp listener limits its sessions with max_sessions)"))
        if (auto n = reader.unsigned_integer(*f, 0, std::numeric_limits<std::uint32_t>::max()))
            listener.max_connections = static_cast<std::uint32_t>(*n);
    if (is_udp && protocol_known) {
        for (const auto& [key, why] : kStreamAdmissionKeys) stream_only(key, why);
        read_datagram_admission(reader, map, listener, source);
    } else {
        read_admission(reader, map, listener, is_unix && protocol_known);
        datagram_only("max_sessions_per_ip", " (a stream listener limits each client address with "
                                             "max_connections_per_ip)");
    }
    if (auto f = stream_only("backlog", ""))
        if (auto n = reader.unsigned_integer(*f, 1, kMaxBacklog)) listener.backlog = static_cast<std::uint32_t>(*n);
    if (auto f = stream_only("buffer_size", " (a udp listener sizes its buffers with max_datagram)"))
        if (auto n = reader.size(*f, kMinBufferSize, kMaxBufferSize)) listener.buffer_size = *n;
    // A udp echo listener answers each datagram by itself: it opens no sessions, so keys that
    // shape sessions would silently do nothing there.
    if (is_udp && protocol_known && listener.handler == Handler::echo)
        for (const char* key : {"max_sessions", "responses", "idle_timeout"})
            if (auto f = map.field(key))
                reader.error(YamlReader::key_mark(*f), std::string(key) +
                                                           " shapes udp sessions, and a udp listener with handler: "
                                                           "echo opens none (it answers each datagram by itself)");
    if (auto f = datagram_only("max_sessions"))
        if (auto n = reader.unsigned_integer(*f, 0, std::numeric_limits<std::uint32_t>::max()))
            listener.max_sessions = static_cast<std::uint32_t>(*n);
    if (auto f = datagram_only("responses"))
        if (auto n = reader.unsigned_integer(*f, 0, std::numeric_limits<std::uint32_t>::max()))
            listener.responses = static_cast<std::uint32_t>(*n);
    if (auto f = datagram_only("max_datagram"))
        if (auto n = reader.size(*f, 1, kLargestDatagram)) listener.max_datagram = static_cast<std::uint32_t>(*n);
    if (auto f = datagram_only("receive_buffer"))
        if (auto n = reader.size(*f, 0, 1024ull * 1024 * 1024)) listener.receive_buffer = *n;
    // An explicit max below buffer_size is a contradiction; the default max just follows a
    // larger buffer_size.
    bool max_given = false;
    if (auto f = stream_only("max_buffer_size", "")) {
        if (auto n = reader.size(*f, kMinBufferSize, kMaxBufferSize)) {
            max_given = true;
            listener.max_buffer_size = *n;
            if (*n < listener.buffer_size)
                reader.error(YamlReader::value_mark(*f), "must be at least buffer_size (" +
                                                             format_size(listener.buffer_size) + "), got " +
                                                             format_size(*n));
        }
    }
    if (!max_given) listener.max_buffer_size = std::max(listener.max_buffer_size, listener.buffer_size);
    const auto codec = map.field("codec");
    if (codec) {
        source.codec = YamlReader::key_mark(*codec);
        listener.codec = read_codec(reader, *codec);
    }
    if (auto f = stream_only("frame_timeout", " (a datagram is a whole frame or none)")) {
        if (!codec)
            reader.error(YamlReader::key_mark(*f), "frame_timeout applies to listeners with a codec (this one relays "
                                                   "raw bytes)");
        else if (auto d = reader.duration(*f, Duration{0}, Duration::max()))
            listener.frame_timeout = *d;
    }

    options.listeners.push_back(std::move(listener));
    sources.listeners.push_back(std::move(source));
}

}  // namespace switchyard
