#pragma once
// The health of one endpoint of one upstream, as every configuration generation that names that
// endpoint (same upstream name, same address as written) sees it: a reload that keeps an endpoint
// keeps its verdict and its counters, and connections of a retired generation still report to it.
// Two verdicts decide whether it may take new connections:
//   - active (HealthChecker, on its control thread): `check_failed` after unhealthy_threshold
//     consecutive failed checks, cleared after healthy_threshold passes;
//   - passive (UpstreamPool, on the loops): ejected until `ejected_until_ns` after max_fails
//     consecutive failed connects, or for UDP endpoints refusals (ICMP port unreachable on a
//     session's connected socket), as nginx's max_fails/fail_timeout.
// The pick path reads both with relaxed loads (per connection, never per byte); nothing here is
// locked. Counters are relaxed atomics written off the relay path (a failed connect, a check)
// and read at scrape time by UpstreamHealthCollector.
#include <atomic>
#include <chrono>
#include <cstdint>

namespace switchyard {

// connect_failed: no connection (refused, unreachable); for a UDP endpoint, ICMP port
// unreachable (or another ICMP error) came back for the check's datagram.
enum class HealthCheckResult : std::uint8_t { success, connect_failed, timeout, bad_response, count };
// Why an endpoint was taken out of rotation: its health checks failed, or max_fails connects did.
enum class EjectionCause : std::uint8_t { health_check, max_fails, count };

constexpr const char* to_string(HealthCheckResult r) {
    switch (r) {
        case HealthCheckResult::success: return "success";
        case HealthCheckResult::connect_failed: return "connect_failed";
        case HealthCheckResult::timeout: return "timeout";
        case HealthCheckResult::bad_response: return "bad_response";
        default: return "unknown";
    }
}

constexpr const char* to_string(EjectionCause c) {
    return c == EjectionCause::health_check ? "health_check" : "max_fails";
}

inline std::int64_t steady_now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

struct EndpointHealth {
    // What the pick path reads, together on one line. Any thread.
    alignas(64) std::atomic<bool> check_failed{false};        // active verdict: down
    std::atomic<std::int64_t> ejected_until_ns{0};             // passive: steady clock, 0 = never
    std::atomic<std::uint32_t> consecutive_failures{0};        // failed connects (refusals) since the last success

    // Any thread: may this endpoint take a new connection now?
    bool usable(std::int64_t now_ns) const {
        return !check_failed.load(std::memory_order_relaxed) &&
               ejected_until_ns.load(std::memory_order_relaxed) <= now_ns;
    }

    // Health checker thread only: whether a check has given a verdict since checks began (the
    // first verdict applies at once, as HAProxy's default init-state `up` does).
    bool checked = false;

    // Written off the relay path, read by the scrape. Any thread.
    alignas(64) std::atomic<std::uint64_t> checks[static_cast<int>(HealthCheckResult::count)] = {};
    std::atomic<std::uint64_t> ejections[static_cast<int>(EjectionCause::count)] = {};

    void count(HealthCheckResult r) { checks[static_cast<int>(r)].fetch_add(1, std::memory_order_relaxed); }
    void count(EjectionCause c) { ejections[static_cast<int>(c)].fetch_add(1, std::memory_order_relaxed); }
};

}  // namespace switchyard
