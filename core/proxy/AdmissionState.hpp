#pragma once
// What a listener's admission remembers across configuration generations: the connection
// rate bucket and the open connections per client IP. Like ListenerContext::listener_active,
// one is made for a new listener and handed from context to context by Runtime::reload, so a
// reload neither refills the bucket nor forgets who holds connections. Any thread.
#include "core/proxy/ConnectionRateLimiter.hpp"
#include "core/proxy/PerIpConnections.hpp"

namespace switchyard {

struct AdmissionState {
    ConnectionRateLimiter rate;
    PerIpConnections per_ip;
};

}  // namespace switchyard
