#pragma once
// Which reason a failed upstream connect is counted under
// (switchyard_upstream_connect_failures_total{reason}), from the errno the attempt ended with.
// Any thread (pure function).
#include <cerrno>

#include "core/proxy/ProxyMetrics.hpp"

namespace switchyard {

// `error`: the errno of connect(2) or SO_ERROR; `timed_out`: connect_timeout expired first.
constexpr ConnectFailureReason connect_failure_reason(int error, bool timed_out) {
    if (timed_out || error == ETIMEDOUT) return ConnectFailureReason::timeout;
    switch (error) {
        case ECONNREFUSED: return ConnectFailureReason::refused;
        // A unix endpoint whose socket file (or a directory on its path) does not exist.
        case ENOENT:
        case ENOTDIR: return ConnectFailureReason::not_found;
        // A unix socket file (or its directory) the daemon's user may not write to; a TCP
        // connect a local firewall rule refused.
        case EACCES:
        case EPERM: return ConnectFailureReason::permission_denied;
        case EHOSTUNREACH:
        case ENETUNREACH: return ConnectFailureReason::unreachable;
        default: return ConnectFailureReason::other;
    }
}

}  // namespace switchyard
