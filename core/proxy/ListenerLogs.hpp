#pragma once
// The rate-limited log lines of one listener: one limiter per kind of event, so a flood of one
// kind (rejected connections, denied datagrams) cannot hide another (bad frames), and every burst that was held
// back is summarised with its kind once it is over ("...and 30 more connections rejected
// (max_connections) in the last second"), instead of waiting for the next event of that kind.
// Each kind lets through up to 10 lines a second.
// Any thread: the limiters are relaxed atomics, spdlog is thread-safe.
#include <cstdint>
#include <string>

#include "core/logging/LogRateLimiter.hpp"

namespace switchyard {

enum class ListenerEvent : std::uint8_t {
    rejected,              // max_connections reached (warn)
    denied,                // an access rule denied the client (warn)
    rate_limited,          // the rate_limit bucket was empty (warn)
    per_ip_limit,          // max_connections_per_ip reached (warn)
    proxy_protocol,        // an untrusted source, a bad or late PROXY header (warn)
    first_byte_timeout,    // the client sent nothing in time (info)
    accept_error,          // accept(2) failed: out of descriptors and the like (error)
    upstream_unavailable,  // every connect attempt failed, the client is closed (warn)
    codec_error,           // bad, truncated or timed-out frames (warn)
    idle_timeout,          // idle_timeout closed a connection (info)
    // udp listeners: a datagram dropped because it would have opened a session the listener
    // may not open (warn), by the limit that refused it.
    datagram_denied,        // an access rule denied its client
    datagram_rate_limited,  // the rate_limit bucket was empty
    datagram_max_sessions,  // max_sessions reached
    datagram_per_ip_limit,  // max_sessions_per_ip reached
    count
};

class ListenerLogs {
public:
    // Any thread: true when a line about `event` may be written now. *note receives the text to
    // append to that line ("" or " (12 more codec errors not logged)").
    bool allow(ListenerEvent event, std::string* note);

    // Any thread; the runtime calls it about once a second. For every kind whose held-back
    // burst is over, writes one line at that kind's level:
    //   listener NAME: …and N more <kind> in the last second
    void summarise_ended_bursts(const std::string& listener);

private:
    LogRateLimiter limiters_[static_cast<int>(ListenerEvent::count)];
};

}  // namespace switchyard
