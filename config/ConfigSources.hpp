#pragma once
// Where the values that other sections refer to came from, kept beside the Options while reading
// so the cross-reference checks (ConfigValidator) can point at the right line.
#include <optional>
#include <string>
#include <vector>

#include "core/net/Address.hpp"
#include "core/options/SourceMark.hpp"

namespace switchyard {

struct ListenerSource {
    SourceMark self;                // "listeners[1]"
    SourceMark name;                // line 0 when the name is missing or invalid
    SourceMark listen;
    SourceMark upstream;            // line 0 when the listener names no upstream
    std::optional<Address> address; // the parsed listen address, when valid
    bool reuse_port = false;
    bool datagram = false;          // protocol udp: its address space is apart from tcp's
    SourceMark codec;               // line 0 when the listener has no codec
    // udp: the keys that limit new sessions (line 0 when not given), for listeners that open none.
    SourceMark rate_limit;
    SourceMark max_sessions_per_ip;
};

struct UpstreamSource {
    SourceMark self;
    SourceMark name;
    SourceMark protocol;                 // line 0 when not given
    SourceMark health_check;             // line 0 when not given
    SourceMark send_proxy;               // line 0 when not given
    std::vector<SourceMark> endpoints;   // index-aligned with UpstreamOptions::endpoints
};

// Index-aligned with Options::listeners / Options::upstreams: entry i describes element i.
struct ConfigSources {
    std::vector<ListenerSource> listeners;
    std::vector<UpstreamSource> upstreams;
    SourceMark metrics_listen;
    std::optional<Address> metrics_address;
};

}  // namespace switchyard
