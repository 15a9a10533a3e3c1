#pragma once
// Everything the daemon runs: the loops (for the process's life) and the current configuration
// generation (upstream pools, codecs, listener contexts; see Generation.hpp), the listeners
// (which outlive generations and keep their sockets across reloads), metrics and the admin
// endpoint. Building a generation is a pure function of the Options.
#include <atomic>
#include <chrono>
#include <functional>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/net/InheritedSockets.hpp"
#include "core/options/ConfigError.hpp"
#include "core/options/Options.hpp"

namespace prometheus {
class Registry;
}

namespace switchyard {

class LoopGroup;
class Listener;
class HealthChecker;
class UpstreamHealthCollector;
struct EndpointHealth;
class DatagramListener;
class MetricsCatalogue;
struct Generation;
struct ListenerContext;
struct LoopMetrics;
struct CodecPlan;
class ReloadMetrics;
namespace metrics {
class ShardedMetrics;
class Exposition;
}  // namespace metrics
namespace admin {
class AdminServer;
struct HealthReport;
}  // namespace admin

// What a reload did: refused (errors, the old configuration untouched) or applied (with
// warnings for settings that only a restart changes).
struct ReloadOutcome {
    bool applied = false;
    std::vector<ConfigError> errors;    // why it was refused, each with its YAML place
    std::vector<std::string> warnings;  // applied, except these
    std::size_t listeners_kept = 0, listeners_added = 0, listeners_removed = 0;
    std::vector<std::string> removed;  // the names of the listeners it removed
};

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

    // Control thread, once. Binds every listener (or adopts the sockets `inherited` holds for
    // its name: systemd socket activation, a binary upgrade) and the admin endpoint, then starts
    // the loops. Sockets no listener claims are closed with a warning. `bound`, when given, runs
    // once every socket is bound and before the loops serve anything (the daemon drops root
    // there). Throws std::runtime_error with one line naming what failed (what `bound` throws
    // included).
    void start(InheritedSockets inherited = {}, const std::function<void()>& bound = {});

    // Control thread: every listener's listening sockets by listener name, and the admin
    // endpoint's as admin_socket_name (still owned here), for a binary upgrade to pass on.
    std::vector<std::pair<std::string, std::vector<int>>> listening_sockets() const;
    static constexpr const char* admin_socket_name = "@admin";
    // Control thread, while the loops run: runs fn with every loop parked in a task of its own
    // (nothing on a loop runs, so no loop opens or closes a descriptor), then lets them go. For a
    // fork: see BinaryUpgrade::hand_over. Keep fn short; the loops serve nobody meanwhile.
    void with_loops_paused(const std::function<void()>& fn);
    // Control thread, binary upgrade: the new process accepts on the sockets now. Closes this
    // process's copies (no unlink of unix socket files) and the admin endpoint; open sessions
    // go on and drain as after stop_accepting().
    void hand_over();

    // Control thread, after start(): applies `next` without dropping anything (HAProxy's and
    // nginx's reload): new listeners bind and accept; removed ones stop accepting and their
    // connections drain for up to shutdown_timeout; kept listeners (same protocol, address and
    // reuse_port) keep their sockets and switch new connections to the new options, upstreams
    // and codecs, while open connections keep what they started with. Anything that fails
    // (a plugin, a bind) refuses the whole reload and leaves the running configuration as it
    // was. `loops` and the admin endpoint's address only change on a restart (a warning).
    ReloadOutcome reload(const Options& next);
    // Control thread: frees retired generations whose sessions have all ended, and closes the
    // sessions of removed listeners once shutdown_timeout has passed. Call it now and then
    // (the daemon does, every second).
    void reap();
    // Control thread: retired generations still waiting for their last sessions.
    std::size_t retired_generations() const { return retired_.size(); }

    // Control thread: stop accepting on every listener; open sessions continue. /healthz
    // answers 503 from here on.
    void stop_accepting();
    // Control thread: waits until every session has ended or `timeout` passed; true if drained.
    bool wait_drained(Duration timeout);
    // Control thread: closes what is left, stops the loops and the exporter. Idempotent.
    void stop();

    // Control thread: counts a reload (switchyard_config_reloads_total{result}) and, on success,
    // sets switchyard_config_last_reload_success_timestamp_seconds and the config hash label of
    // switchyard_config_info.
    void record_reload(bool success, const std::string& config_hash);
    // Control thread: the configuration started with (sets the timestamp and hash as above).
    void record_start(const std::string& config_hash);

    // Any thread: every loop has ticked within `within` (the watchdog's liveness test).
    bool loops_ticking(std::chrono::steady_clock::duration within) const;
    // Control thread, test hook only: blocks loop `index` for `how_long`, as a stuck handler would.
    void wedge_loop_for_test(std::size_t index, std::chrono::milliseconds how_long);

    std::size_t active_sessions() const;  // any thread
    std::size_t loop_count() const;        // any thread
    // Control thread: (listener name, bound address) in config order.
    std::vector<std::pair<std::string, std::string>> listener_addresses() const;
    // Any thread after start(): "127.0.0.1:9464" or "" when the admin endpoint is off.
    std::string metrics_address() const;
    // What /healthz answers: healthy only while every listener is bound and accepting. Any thread.
    admin::HealthReport health() const;
    // Control thread: the configuration now running.
    const Options& options() const;

private:
    Runtime();
    void on_tick(std::size_t loop, double lag_seconds);
    std::unique_ptr<Generation> build_generation(const Options& options, CodecPlan& codecs);
    void apply_loop_settings(const Options& options);
    // The health state every generation naming this endpoint of this upstream, over the same
    // transport, shares.
    std::shared_ptr<EndpointHealth> endpoint_health(const std::string& upstream, const std::string& endpoint,
                                                    bool datagram);
    // Starts the current generation's health checks and lists its endpoints for /metrics; the
    // endpoints of upstreams without health_check lose any active verdict an earlier
    // configuration gave them. Control thread, after the previous generation's checks stopped.
    void start_health_checks();
    // Forgets the health of endpoints no generation names any more. Control thread.
    void prune_endpoint_health();

    // The runtime's life as /healthz reports it.
    enum class Phase { starting, serving, draining, stopped };

    std::unique_ptr<LoopGroup> loops_;
    // Metrics: the loops' shards, then plain prometheus-cpp families and scrape-time collectors,
    // all served through one exposition by the admin endpoint.
    std::shared_ptr<metrics::ShardedMetrics> sharded_;
    std::shared_ptr<prometheus::Registry> plain_;
    std::unique_ptr<ReloadMetrics> reload_metrics_;
    std::unique_ptr<metrics::Exposition> exposition_;
    std::unique_ptr<MetricsCatalogue> catalogue_;
    std::unique_ptr<admin::AdminServer> admin_server_;
    std::atomic<Phase> phase_{Phase::starting};
    std::vector<LoopMetrics> loop_metrics_;

    std::unique_ptr<HealthChecker> health_checker_;  // the sy-health thread (control plane)
    std::shared_ptr<UpstreamHealthCollector> health_collector_;
    // By (upstream, endpoint as written, datagram): a reload that turns an upstream's endpoints
    // from UDP to streams (or back) starts their health afresh.
    std::map<std::tuple<std::string, std::string, bool>, std::shared_ptr<EndpointHealth>> endpoint_health_;

    std::unique_ptr<Generation> current_;
    std::vector<std::unique_ptr<Generation>> retired_;
    std::vector<std::unique_ptr<Listener>> listeners_;          // current, in config order
    std::vector<std::unique_ptr<Listener>> stopped_listeners_;  // removed by reloads; freed at stop
    std::atomic<std::size_t> listener_count_{0};                // for /healthz (admin thread)

    // Loop 0's periodic summary line reads these, under the mutex, every log_every ticks.
    struct Summary {
        std::uint32_t log_every = 0;
        std::vector<std::pair<std::string, std::shared_ptr<std::atomic<std::int64_t>>>> listeners;
        // The current generation's stream contexts (replaced under the mutex before a retired
        // one can be freed) and the ones udp listeners run with: their rate-limited log bursts
        // are summarised here.
        std::vector<ListenerContext*> contexts;
    };
    mutable std::mutex summary_mutex_;
    Summary summary_;
    void publish_summary();

    std::vector<std::unique_ptr<DatagramListener>> datagram_listeners_;  // current, in config order
    // udp listeners removed by reloads: their sessions end (idle, `responses`, or shutdown_timeout
    // after the reload), then reap() closes their sockets and frees them.
    std::vector<std::unique_ptr<DatagramListener>> stopped_datagram_listeners_;
    void free_stopped_datagram_listeners();
    // The current generation, then the retired ones still alive. Control thread.
    std::vector<Generation*> generations() const;
    // Every context, in every generation still alive, of the listener `ctx` is one of (the
    // contexts a reload kept it through): whose sessions a removal closes at shutdown_timeout.
    std::vector<const void*> contexts_of(const ListenerContext& ctx) const;
    std::vector<std::uint64_t> ticks_;  // per loop, written by that loop only
    // Per loop: steady-clock nanoseconds of the last tick (written by that loop, read by the
    // control thread's watchdog).
    std::unique_ptr<std::atomic<std::int64_t>[]> last_tick_ns_;
    bool started_ = false;
    bool stopped_ = false;
};

}  // namespace switchyard
