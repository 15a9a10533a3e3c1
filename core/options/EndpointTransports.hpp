#pragma once
// What the endpoints of an upstream speak, from its `protocol` and the listeners that use it:
// streams (tcp or unix connects), datagrams (UDP), or both, when an upstream with the default
// protocol serves a udp listener and a tcp or unix one. The runtime builds each pool and its
// health checks from it; the validator refuses an active check that would have to speak both.
#include "core/options/Options.hpp"

namespace switchyard {

struct EndpointTransports {
    bool stream = false;    // protocol tcp, or the default and a tcp or unix listener uses it
    bool datagram = false;  // protocol udp, or the default and a udp listener uses it
};

// An upstream no listener uses speaks streams unless it says protocol: udp.
// Thread rule: any thread (pure function).
EndpointTransports endpoint_transports(const Options& options, const UpstreamOptions& upstream);

}  // namespace switchyard
