#pragma once
// The admin HTTP endpoint (control plane: Boost.Beast on Asio, a thread and io_context of its
// own, so neither a scrape nor a slow admin client ever runs on a data loop):
//   GET|HEAD <metrics path>  the exposition in the Prometheus text format 0.0.4
//                            (`text/plain; version=0.0.4`), gzip-coded when the request's
//                            Accept-Encoding accepts gzip, as Prometheus sends it;
//   GET|HEAD /healthz        200 and one line while the probe says healthy, 503 and one line
//                            otherwise (starting, draining): the probe of a load balancer or of
//                            Kubernetes' readiness/liveness checks;
//   GET|HEAD /               a small page linking to both;
// other paths 404, other methods 405 (with Allow). Requests are size-bounded, one deadline
// covers a whole request, and connections are capped, so a slow or broken client cannot pin the
// server; every connection is its own coroutine, so one client's slow socket does not hold up
// another's scrape. Asio and Beast stay in the .cpp.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace switchyard::metrics {
class Exposition;
}

namespace switchyard::admin {

// What /healthz answers: `healthy` picks 200 or 503; `detail` is the one-line body (no newline).
struct HealthReport {
    bool healthy = false;
    std::string detail;
};
// Called on the admin thread for every /healthz request; must be cheap and must not block.
using HealthProbe = std::function<HealthReport()>;

struct AdminServerLimits {
    // A request must arrive whole, and a kept-alive connection must send its next one, within this.
    std::chrono::milliseconds idle_timeout{30000};
    std::size_t max_header_bytes = 8 * 1024;  // bigger: 431 and close
    std::size_t max_body_bytes = 4 * 1024;    // bigger: 413 and close
    std::size_t max_connections = 64;         // more: accepted and closed at once
};

class AdminServer {
public:
    // `listen_address` is "host:port" or "[v6]:port" (port 0 picks a free port, see bound_port);
    // `metrics_path` is where the metrics are served, e.g. "/metrics" (it must not be /healthz).
    // The exposition must outlive the server. Nothing is bound until start().
    AdminServer(const metrics::Exposition& exposition, HealthProbe health,
                std::string listen_address, std::string metrics_path,
                const AdminServerLimits& limits = {});
    // Stops the server if running. Control thread.
    ~AdminServer();
    AdminServer(const AdminServer&) = delete;
    AdminServer& operator=(const AdminServer&) = delete;

    // Binds and listens, then serves from a thread of its own (named sy-admin); connections are
    // accepted as soon as this returns. Throws std::runtime_error with a one-line message on a bad
    // address or a failed bind ("metrics listen 127.0.0.1:9464: Address already in use").
    // Control thread; at most once. `inherited_fd`: a listening socket passed by the process
    // this one replaces (binary upgrade), used instead of binding; the server owns it then.
    void start(int inherited_fd = -1);

    // Control thread, after start(): the listening socket, for a binary upgrade to pass on.
    int listening_fd() const;

    // Closes the listener and every connection and joins the thread. Idempotent. Control thread.
    void stop();

    // The port actually bound (the chosen one when asked for 0); 0 before start(). Any thread.
    std::uint16_t bound_port() const;

    static constexpr const char* health_path = "/healthz";

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace switchyard::admin
