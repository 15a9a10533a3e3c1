#pragma once
// Active health checks of upstream endpoints. Control plane: Boost.Asio coroutines on one
// thread of their own (`sy-health`), never on a data loop, so a slow or hanging endpoint can
// never delay a relay, and checks need no timers or sockets on the loops. One coroutine per
// endpoint: connect within `timeout`, optionally write `send` and read until the reply contains
// `expect`, record the result in the endpoint's EndpointHealth, wait `interval`, repeat. A UDP
// endpoint (UpstreamPool::datagram) gets one datagram from a connected socket instead: with
// `expect` its reply must contain the bytes; without, it passes unless ICMP port unreachable
// comes back within `timeout` (nginx Plus's `health_check udp`).
//
// Checks belong to a configuration generation: the runtime starts a HealthCheckRun for each
// generation it makes current and destroys it when a reload retires that generation (or at
// stop), so a replaced pool is never checked. A verdict applies to the endpoint's shared
// EndpointHealth, which the loops' pick path reads with relaxed loads. Asio stays in the .cpp.
#include <memory>
#include <vector>

namespace switchyard {

class UpstreamPool;

// The checks of one generation. Destroying it stops them and waits (briefly: cancellation is
// immediate) until none of its coroutines runs any more. Control thread.
class HealthCheckRun {
public:
    struct State;
    explicit HealthCheckRun(std::shared_ptr<State> state) : state_(std::move(state)) {}
    ~HealthCheckRun();
    HealthCheckRun(const HealthCheckRun&) = delete;
    HealthCheckRun& operator=(const HealthCheckRun&) = delete;

private:
    std::shared_ptr<State> state_;
};

class HealthChecker {
public:
    HealthChecker();   // control thread; the thread starts with the first checks
    ~HealthChecker();  // control thread; every run must be gone by now. Joins the thread.
    HealthChecker(const HealthChecker&) = delete;
    HealthChecker& operator=(const HealthChecker&) = delete;

    // Control thread: starts checking every endpoint of the pools that configure
    // health_check, first at once, then every interval. Null when none does. The pools may go
    // once the run is destroyed; the run holds none of their memory.
    std::unique_ptr<HealthCheckRun> check(const std::vector<UpstreamPool*>& pools);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace switchyard
