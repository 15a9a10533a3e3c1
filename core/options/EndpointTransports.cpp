#include "core/options/EndpointTransports.hpp"

namespace switchyard {

EndpointTransports endpoint_transports(const Options& options, const UpstreamOptions& upstream) {
    EndpointTransports t;
    switch (upstream.protocol) {
        case UpstreamProtocol::tcp: t.stream = true; return t;
        case UpstreamProtocol::udp: t.datagram = true; return t;
        case UpstreamProtocol::listener: break;
    }
    for (const ListenerOptions& l : options.listeners) {
        if (l.upstream != upstream.name) continue;
        (l.datagram() ? t.datagram : t.stream) = true;
    }
    if (!t.stream && !t.datagram) t.stream = true;
    return t;
}

}  // namespace switchyard
