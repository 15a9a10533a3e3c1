#include "config/ConfigValidator.hpp"

#include <algorithm>
#include <map>

#include "core/options/EndpointTransports.hpp"
#include "core/options/Suggest.hpp"

namespace switchyard {
namespace {

void add(std::vector<ConfigError>& errors, const SourceMark& where, std::string message) {
    errors.push_back(ConfigError{where, std::move(message)});
}

std::string at_line(const SourceMark& mark) { return "line " + std::to_string(mark.line); }

// Would binding both fail, or silently share one socket? The same inet host:port or unix path
// does; so does a wildcard host (0.0.0.0 or ::) against any other host on the same port, unless
// both sides set reuse_port (then the kernel lets them coexist on purpose). Port 0 asks for a
// fresh ephemeral port each time, so it never collides.
bool collide(const Address& a, bool a_reuse, const Address& b, bool b_reuse) {
    if (a.is_unix() || b.is_unix()) return a.is_unix() && b.is_unix() && a.path == b.path;
    if (a.port == 0 || a.port != b.port) return false;
    if (a.host == b.host) return true;
    if (a_reuse && b_reuse) return false;
    auto wildcard = [](const std::string& h) { return h == "0.0.0.0" || h == "::"; };
    auto is_v6 = [](const std::string& h) { return h.find(':') != std::string::npos; };
    // :: covers IPv4 too on Linux (dual stack); 0.0.0.0 covers IPv4 and host names only.
    if (a.host == "::" || b.host == "::") return true;
    if (wildcard(a.host)) return !is_v6(b.host);
    if (wildcard(b.host)) return !is_v6(a.host);
    return false;
}

std::string collision(const Address& earlier, const Address& later) {
    if (earlier == later) return "address " + later.to_string() + " is already used";
    return "address " + later.to_string() + " overlaps " + earlier.to_string() + ", already used";
}

// PROXY protocol headers go before a stream's bytes; HAProxy and nginx send none over UDP either.
constexpr const char* kNoProxyOnDatagrams =
    "a PROXY protocol header is not sent on datagrams (HAProxy and nginx send none over UDP either)";

// A udp listener's keys that limit new sessions, on a listener that opens none: an error rather
// than a limit that silently never applies. `why` says what the listener does instead.
void check_session_limits(const ListenerSource& source, const std::string& why, std::vector<ConfigError>& errors) {
    if (source.rate_limit.line != 0)
        add(errors, source.rate_limit, "rate_limit on a udp listener limits new sessions, and this listener opens "
                                       "none (" + why + ")");
    if (source.max_sessions_per_ip.line != 0)
        add(errors, source.max_sessions_per_ip,
            "max_sessions_per_ip limits sessions, and this listener opens none (" + why + ")");
}

std::string listener_label(const Options& options, const ConfigSources& sources, std::size_t i) {
    const std::string& name = options.listeners[i].name;
    const std::string& where = at_line(sources.listeners[i].listen);
    return name.empty() ? sources.listeners[i].self.path + " (" + where + ")" : "listener '" + name + "' (" + where + ")";
}

}  // namespace

void ConfigValidator::check_cross_references(const Options& options, const ConfigSources& sources,
                                             std::vector<ConfigError>& errors) {
    check_unique_names(options, sources, errors);
    check_upstream_references(options, sources, errors);
    check_listen_addresses(options, sources, errors);
    check_transports(options, sources, errors);
}

void ConfigValidator::check_unique_names(const Options& options, const ConfigSources& sources,
                                         std::vector<ConfigError>& errors) {
    std::map<std::string, const SourceMark*> seen;
    for (std::size_t i = 0; i < options.upstreams.size(); ++i) {
        const std::string& name = options.upstreams[i].name;
        if (name.empty()) continue;
        auto [first, inserted] = seen.try_emplace(name, &sources.upstreams[i].name);
        if (!inserted)
            add(errors, sources.upstreams[i].name,
                "duplicate upstream name '" + name + "' (first used at " + at_line(*first->second) + ")");
    }
    seen.clear();
    for (std::size_t i = 0; i < options.listeners.size(); ++i) {
        const std::string& name = options.listeners[i].name;
        if (name.empty()) continue;
        auto [first, inserted] = seen.try_emplace(name, &sources.listeners[i].name);
        if (!inserted)
            add(errors, sources.listeners[i].name,
                "duplicate listener name '" + name + "' (first used at " + at_line(*first->second) + ")");
    }
}

void ConfigValidator::check_upstream_references(const Options& options, const ConfigSources& sources,
                                                std::vector<ConfigError>& errors) {
    std::vector<std::string> names;
    for (const auto& upstream : options.upstreams)
        if (!upstream.name.empty()) names.push_back(upstream.name);
    // An upstream whose entry had errors may have no name recorded; its own errors already stop
    // the load, so only report a dangling reference when every upstream entry was readable.
    const bool all_named = names.size() == options.upstreams.size();
    for (std::size_t i = 0; i < options.listeners.size(); ++i) {
        const std::string& wanted = options.listeners[i].upstream;
        if (wanted.empty() || sources.listeners[i].upstream.line == 0) continue;
        if (std::find(names.begin(), names.end(), wanted) != names.end()) continue;
        if (!all_named) continue;
        std::string message = "unknown upstream '" + wanted + "'";
        if (names.empty()) message += " (no upstreams are defined)";
        else if (auto suggestion = suggest(wanted, names)) message += did_you_mean(suggestion);
        else {
            message += " (defined upstreams: ";
            for (std::size_t n = 0; n < names.size(); ++n) message += (n ? ", " : "") + names[n];
            message += ")";
        }
        add(errors, sources.listeners[i].upstream, message);
    }
}

void ConfigValidator::check_listen_addresses(const Options& options, const ConfigSources& sources,
                                             std::vector<ConfigError>& errors) {
    for (std::size_t i = 0; i < sources.listeners.size(); ++i) {
        const ListenerSource& later = sources.listeners[i];
        if (!later.address) continue;
        for (std::size_t j = 0; j < i; ++j) {
            const ListenerSource& earlier = sources.listeners[j];
            if (!earlier.address) continue;
            // TCP and UDP ports are separate spaces: DNS and iperf3 listen on both at once.
            if (earlier.datagram != later.datagram) continue;
            if (!collide(*earlier.address, earlier.reuse_port, *later.address, later.reuse_port)) continue;
            add(errors, later.listen,
                collision(*earlier.address, *later.address) + " by " + listener_label(options, sources, j));
            break;
        }
    }
    if (sources.metrics_address) {
        for (std::size_t j = 0; j < sources.listeners.size(); ++j) {
            const ListenerSource& listener = sources.listeners[j];
            if (listener.datagram) continue;  // the admin endpoint is tcp
            if (!listener.address || !collide(*listener.address, false, *sources.metrics_address, false)) continue;
            add(errors, sources.metrics_listen,
                collision(*listener.address, *sources.metrics_address) + " by " +
                    listener_label(options, sources, j));
            break;
        }
    }
}

void ConfigValidator::check_transports(const Options& options, const ConfigSources& sources,
                                       std::vector<ConfigError>& errors) {
    for (std::size_t k = 0; k < options.upstreams.size(); ++k) {
        const UpstreamOptions& u = options.upstreams[k];
        if (u.protocol != UpstreamProtocol::udp) continue;
        if (u.send_proxy != SendProxy::off && sources.upstreams[k].send_proxy.line != 0)
            add(errors, sources.upstreams[k].send_proxy,
                "upstream '" + u.name + "' has protocol udp, and " + kNoProxyOnDatagrams);
        for (std::size_t e = 0; e < u.endpoints.size() && e < sources.upstreams[k].endpoints.size(); ++e)
            if (u.endpoints[e].address.rfind("unix:", 0) == 0)
                add(errors, sources.upstreams[k].endpoints[e],
                    "a unix: endpoint is a stream socket; an upstream with protocol udp needs host:port endpoints");
    }
    for (std::size_t k = 0; k < options.upstreams.size(); ++k) {
        // One active check speaks one transport: UDP endpoints get datagrams, stream ones
        // connects. An upstream whose endpoints are both (the default protocol, used by a udp
        // listener and a stream one) cannot have one.
        const UpstreamOptions& u = options.upstreams[k];
        if (!u.health_check) continue;
        const EndpointTransports t = endpoint_transports(options, u);
        if (!t.stream || !t.datagram) continue;
        std::string udp_listener, stream_listener;
        for (const auto& l : options.listeners)
            if (l.upstream == u.name) (l.datagram() ? udp_listener : stream_listener) = l.name;
        add(errors, sources.upstreams[k].health_check,
            "upstream '" + u.name + "' serves udp listener '" + udp_listener + "' and stream listener '" +
                stream_listener + "', so its endpoints are UDP for one and streams for the other, and one "
                "health check cannot speak both; declare an upstream for each (protocol: udp on the one for "
                "the udp listener)");
    }
    for (std::size_t i = 0; i < options.listeners.size(); ++i) {
        const ListenerOptions& l = options.listeners[i];
        const ListenerSource& source = sources.listeners[i];
        const bool listener_udp = l.datagram();
        if (listener_udp && l.handler == Handler::echo)
            check_session_limits(source, "handler echo answers each datagram as it comes", errors);
        if (l.upstream.empty()) continue;
        const UpstreamOptions* u = nullptr;
        std::size_t k = 0;
        for (; k < options.upstreams.size(); ++k)
            if (options.upstreams[k].name == l.upstream) {
                u = &options.upstreams[k];
                break;
            }
        if (!u) continue;  // reported by check_upstream_references
        const bool upstream_udp = u->protocol == UpstreamProtocol::listener ? listener_udp
                                                                            : u->protocol == UpstreamProtocol::udp;
        if (listener_udp && upstream_udp && u->protocol == UpstreamProtocol::listener) {
            // The upstream takes the listener's protocol: its unix: endpoints cannot be datagrams.
            for (std::size_t e = 0; e < u->endpoints.size() && e < sources.upstreams[k].endpoints.size(); ++e)
                if (u->endpoints[e].address.rfind("unix:", 0) == 0)
                    add(errors, sources.upstreams[k].endpoints[e],
                        "upstream '" + u->name + "' serves udp listener '" + l.name +
                            "', so its endpoints are UDP; a unix: endpoint is a stream socket (to bridge datagrams "
                            "to it, set protocol: tcp on the upstream and give the listener a codec)");
        }
        const SourceMark& send_proxy = sources.upstreams[k].send_proxy;
        if (listener_udp && u->send_proxy != SendProxy::off && send_proxy.line != 0) {
            if (upstream_udp && u->protocol == UpstreamProtocol::listener)
                add(errors, send_proxy,
                    "upstream '" + u->name + "' serves udp listener '" + l.name + "' over UDP, and " +
                        kNoProxyOnDatagrams + "; stream listeners that need it can have an upstream of their own");
            else if (!upstream_udp)
                add(errors, send_proxy,
                    "udp listener '" + l.name + "' writes every client's frames onto one pooled connection per loop "
                    "to upstream '" + u->name + "', so no PROXY protocol header could name the client");
        }
        if (listener_udp && !upstream_udp)
            check_session_limits(
                source, "its datagrams go onto pooled connections to stream upstream '" + u->name + "'", errors);
        if (listener_udp == upstream_udp) continue;
        // A bridge between datagrams and streams: only a codec can say where one datagram's
        // worth of a stream begins and ends.
        const SourceMark& where =
            sources.upstreams[k].protocol.line != 0 ? sources.upstreams[k].protocol : source.upstream;
        const std::string mix = std::string("listener '") + l.name + "' speaks " + (listener_udp ? "udp" : "tcp") +
                                " and upstream '" + u->name + "' speaks " + (upstream_udp ? "udp" : "tcp");
        if (!l.codec) add(errors, where,
                mix + ": a bridge between datagrams and streams needs a codec on the listener (each frame is "
                      "one datagram)");

    }
}

}  // namespace switchyard
