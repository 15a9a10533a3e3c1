#pragma once
// Everything one configuration runs: loops, upstream pools, codecs, listeners, metrics.
// Construction is a pure function of the Options, so a reload can build a new Runtime beside
// the old one and swap.
#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/options/ConfigError.hpp"
#include "core/options/Options.hpp"

namespace switchyard {

class LoopGroup;
class Listener;
class DatagramListener;
class UpstreamPool;
class MetricsCatalogue;
struct ListenerContext;
struct LoopMetrics;
struct EndpointMetrics;
namespace metrics {
class ShardedMetrics;
class Exposition;
}  // namespace metrics
namespace admin {
class AdminServer;
struct HealthReport;
}  // namespace admin

class Runtime {
public:
    // Control thread. Builds what needs no socket: loops (not started), upstream pools
    // (endpoints resolved), codecs (plugins loaded, options checked), metric children.
    // Problems that belong to the config file (a plugin refusing its options) are appended to
    // *errors and nullptr is returned; anything else throws std::runtime_error.
    static std::unique_ptr<Runtime> build(const Options& options, std::vector<ConfigError>* errors);

    // Control thread: the checks `--check-config` adds to the YAML validation (codec plugins
    // load and accept their options). Opens no socket.
    static std::vector<ConfigError> check(const Options& options);

    ~Runtime();

    // Control thread, once. Binds every listener and the admin endpoint, then starts the
    // loops. Throws std::runtime_error with one line naming what failed.
    void start();
    // Control thread: stop accepting on every listener; open sessions continue. /healthz
    // answers 503 from here on.
    void stop_accepting();
    // Control thread: waits until every session has ended or `timeout` passed; true if drained.
    bool wait_drained(Duration timeout);
    // Control thread: closes what is left, stops the loops and the exporter. Idempotent.
    void stop();

    std::size_t active_sessions() const;  // any thread
    std::size_t loop_count() const;        // any thread
    // Any thread after start(): (listener name, bound address) in config order.
    std::vector<std::pair<std::string, std::string>> listener_addresses() const;
    // Any thread after start(): "127.0.0.1:9464" or "" when the admin endpoint is off.
    std::string metrics_address() const;
    // What /healthz answers: healthy only while every listener is bound and accepting. Any thread.
    admin::HealthReport health() const;
    const Options& options() const { return options_; }

private:
    explicit Runtime(const Options& options);
    void on_tick(std::size_t loop, double lag_seconds);

    // The runtime's life as /healthz reports it.
    enum class Phase { starting, serving, draining, stopped };

    Options options_;
    std::unique_ptr<LoopGroup> loops_;
    // Metrics: the loops' shards, then plain prometheus-cpp families and scrape-time collectors,
    // all served through one exposition by the admin endpoint.
    std::shared_ptr<metrics::ShardedMetrics> sharded_;
    std::unique_ptr<metrics::Exposition> exposition_;
    std::unique_ptr<MetricsCatalogue> catalogue_;
    std::unique_ptr<admin::AdminServer> admin_server_;
    std::atomic<Phase> phase_{Phase::starting};
    std::vector<LoopMetrics> loop_metrics_;
    std::vector<std::unique_ptr<EndpointMetrics>> endpoint_metrics_;
    std::vector<std::unique_ptr<UpstreamPool>> upstreams_;
    std::vector<std::unique_ptr<ListenerContext>> contexts_;
    std::vector<std::unique_ptr<Listener>> listeners_;                   // tcp and unix
    std::vector<std::unique_ptr<DatagramListener>> datagram_listeners_;  // udp
    std::vector<std::uint64_t> ticks_;  // per loop, written by that loop only
    bool started_ = false;
    bool stopped_ = false;
};

}  // namespace switchyard
