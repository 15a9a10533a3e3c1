#include "core/runtime/Runtime.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <future>
#include <stdexcept>
#include <thread>

#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "core/admin/AdminServer.hpp"
#include "core/codec/Codec.hpp"
#include "core/health/EndpointHealth.hpp"
#include "core/health/HealthChecker.hpp"
#include "core/health/UpstreamHealthCollector.hpp"
#include "core/loop/LoopGroup.hpp"
#include "core/metrics/BuildInfo.hpp"
#include "core/metrics/Exposition.hpp"
#include "core/metrics/ProcessCollector.hpp"
#include "core/metrics/ShardedMetrics.hpp"
#include "core/options/EndpointTransports.hpp"
#include "core/proxy/Listener.hpp"
#include "core/proxy/ListenerContext.hpp"
#include "core/proxy/UpstreamPool.hpp"
#include "core/runtime/Generation.hpp"
#include "core/proxy/datagram/DatagramListener.hpp"
#include "core/proxy/datagram/StreamToDatagramSession.hpp"
#include "core/runtime/LoopCollector.hpp"
#include "core/runtime/MetricsCatalogue.hpp"
#include "core/runtime/ReloadMetrics.hpp"

namespace switchyard {
namespace {

// Slack added to the relay buffer of a translating direction is computed by the session; this
// is only the data part.
std::size_t data_block_size(const ListenerOptions& o) { return std::max<std::uint64_t>(o.buffer_size, 1024); }

std::string listener_path(std::size_t i) { return "listeners[" + std::to_string(i) + "]"; }

}  // namespace

// Every codec a config names, opened: per upstream, and per listener (client codec, upstream codec).
struct CodecPlan {
    std::vector<std::shared_ptr<const Codec>> upstream;  // per upstream, null = listener's
    std::vector<std::pair<std::shared_ptr<const Codec>, std::shared_ptr<const Codec>>> listener;
};

namespace {

CodecPlan open_codecs(const Options& options, std::vector<ConfigError>* errors) {
    CodecPlan plan;
    const PluginTrust trust = PluginTrust::of_daemon(options.user_uid ? &*options.user_uid : nullptr,
                                                     options.user_gid ? &*options.user_gid : nullptr,
                                                     options.allow_writable_plugins);
    for (const auto& u : options.upstreams)
        plan.upstream.push_back(u.codec ? Codec::open(*u.codec, options.plugin_dir, errors, &trust) : nullptr);
    for (std::size_t i = 0; i < options.listeners.size(); ++i) {
        const auto& l = options.listeners[i];
        auto client = l.codec ? Codec::open(*l.codec, options.plugin_dir, errors, &trust) : nullptr;
        std::shared_ptr<const Codec> up = client;
        for (std::size_t k = 0; k < options.upstreams.size(); ++k) {
            if (options.upstreams[k].name != l.upstream || !options.upstreams[k].codec) continue;
            if (!l.codec) {
                errors->push_back({SourceMark{listener_path(i) + ".codec", 0, 0},
                                   "upstream '" + l.upstream +
                                       "' declares a codec but this listener relays raw bytes; give the listener "
                                       "a codec too"});
            }
            up = plan.upstream[k];
            // Translating between two framings re-encodes every frame, both ways: each side's
            // codec must be able to write its framing, or every frame would fail at run time.
            if (client && up && !client->same_framing(*up)) {
                const CodecOptions* sides[2] = {&*l.codec, &*options.upstreams[k].codec};
                const Codec* codecs[2] = {client.get(), up.get()};
                for (int side = 0; side < 2; ++side)
                    if (!codecs[side]->can_encode())
                        errors->push_back({sides[side]->mark,
                                           "codec " + codecs[side]->name() +
                                               " cannot encode with these options, and translating between "
                                               "listener " + l.name + " and upstream " + l.upstream +
                                               " needs it to (see plugins/README.md)"});
            }
        }
        plan.listener.emplace_back(client, up);
    }
    return plan;
}

// The idle sweep (idle_timeout, and frame_timeout on framed listeners) runs often enough that
// a connection is closed within ~1/8 of its timeout late, and never more than once every 10 ms
// or less than once a second.
std::chrono::steady_clock::duration idle_sweep_period(const Options& options) {
    Duration shortest{0};
    for (const auto& l : options.listeners)
        for (Duration limit : {l.idle_timeout, l.codec ? l.frame_timeout : Duration{0}})
            if (limit.count() > 0 && (shortest.count() == 0 || limit < shortest)) shortest = limit;
    if (shortest.count() == 0) return std::chrono::steady_clock::duration{0};
    return std::clamp<std::chrono::steady_clock::duration>(shortest / 8, std::chrono::milliseconds(10),
                                                           std::chrono::seconds(1));
}

// Runs fn on every loop's thread and waits until all have run it: a barrier after which no
// task queued earlier on any loop is still pending.
template <class Fn>
void on_every_loop(LoopGroup& loops, Fn fn) {
    std::vector<std::future<void>> done;
    for (std::size_t i = 0; i < loops.size(); ++i) {
        auto promise = std::make_shared<std::promise<void>>();
        done.push_back(promise->get_future());
        EventLoop& loop = loops.at(i);
        loop.post([&loop, fn, promise] {
            fn(loop);
            // Deferred tasks of this turn (a session's last reference, among them) run first.
            loop.defer([promise] { promise->set_value(); });
        });
    }
    for (auto& f : done) f.wait();
}

}  // namespace

Runtime::Runtime() = default;

Runtime::~Runtime() { stop(); }

const Options& Runtime::options() const { return current_->options; }

std::vector<ConfigError> Runtime::check(const Options& options) {
    std::vector<ConfigError> errors;
    open_codecs(options, &errors);
    return errors;
}

std::unique_ptr<Runtime> Runtime::build(const Options& options, std::vector<ConfigError>* errors) {
    std::size_t before = errors->size();
    CodecPlan codecs = open_codecs(options, errors);
    if (errors->size() != before) return nullptr;

    std::unique_ptr<Runtime> rt(new Runtime());
    rt->loops_ = std::make_unique<LoopGroup>(options.loops);
    const std::size_t n = rt->loops_->size();
    rt->ticks_.assign(n, 0);
    rt->last_tick_ns_.reset(new std::atomic<std::int64_t>[n]);
    const auto started = std::chrono::steady_clock::now().time_since_epoch();
    for (std::size_t i = 0; i < n; ++i)
        rt->last_tick_ns_[i].store(std::chrono::duration_cast<std::chrono::nanoseconds>(started).count());
    const bool with_metrics = !options.metrics.listen.empty();
    if (with_metrics) {
        // Families that never change once built, or once per reload, are plain prometheus-cpp ones.
        rt->plain_ = std::make_shared<prometheus::Registry>();
        metrics::add_build_info(*rt->plain_);
        prometheus::BuildGauge()
            .Name("switchyard_loops")
            .Help("Event loops (threads) serving connections.")
            .Register(*rt->plain_)
            .Add({})
            .Set(static_cast<double>(n));
        rt->reload_metrics_ = std::make_unique<ReloadMetrics>(*rt->plain_);
        rt->sharded_ = std::make_shared<metrics::ShardedMetrics>(n);
        rt->exposition_ = std::make_unique<metrics::Exposition>();
        rt->exposition_->add(rt->sharded_);
        rt->exposition_->add(rt->plain_);
        rt->health_collector_ = std::make_shared<UpstreamHealthCollector>();
        rt->exposition_->add(rt->health_collector_);
        rt->exposition_->add(std::make_shared<LoopCollector>(*rt->loops_));
        rt->exposition_->add(std::make_shared<metrics::ProcessCollector>());
        rt->catalogue_ = std::make_unique<MetricsCatalogue>(*rt->sharded_);
        for (std::size_t i = 0; i < n; ++i) rt->loop_metrics_.push_back(rt->catalogue_->loop(i));
    } else {
        rt->loop_metrics_.resize(n);
    }

    rt->health_checker_ = std::make_unique<HealthChecker>();
    rt->current_ = rt->build_generation(options, codecs);
    for (auto& ctx : rt->current_->contexts) {
        if (ctx->options.datagram()) {
            rt->datagram_listeners_.push_back(std::make_unique<DatagramListener>(*ctx, *rt->loops_));
        } else {
            rt->listeners_.push_back(std::make_unique<Listener>(*ctx, *rt->loops_));
        }
    }
    rt->listener_count_.store(rt->listeners_.size() + rt->datagram_listeners_.size());
    rt->publish_summary();

    Runtime* self = rt.get();
    for (std::size_t i = 0; i < n; ++i) {
        auto& loop = rt->loops_->at(i);
        loop.set_idle_sweep(idle_sweep_period(options));
        loop.set_yield_before_sleep(options.loop_wait == LoopWait::yield);
        loop.set_tick(options.tick, [self](EventLoop& l, std::chrono::steady_clock::duration lag) {
            self->on_tick(l.index(), std::chrono::duration<double>(lag).count());
        });
    }
    return rt;
}

std::unique_ptr<Generation> Runtime::build_generation(const Options& options, CodecPlan& codecs) {
    auto gen = std::make_unique<Generation>();
    gen->options = options;
    const std::size_t n = loops_->size();
    for (std::size_t k = 0; k < options.upstreams.size(); ++k) {
        auto pool = std::make_unique<UpstreamPool>(options.upstreams[k], n);
        pool->codec = codecs.upstream[k];
        const EndpointTransports transports = endpoint_transports(options, options.upstreams[k]);
        pool->datagram = transports.datagram && !transports.stream;
        for (std::size_t e = 0; e < pool->size(); ++e)
            pool->endpoint(e).health = endpoint_health(pool->name(), pool->endpoint(e).label, pool->datagram);
        if (catalogue_) {
            gen->upstream_metrics.push_back(std::make_unique<UpstreamMetrics>(catalogue_->upstream(pool->name())));
            pool->metrics = gen->upstream_metrics.back().get();
            for (std::size_t e = 0; e < pool->size(); ++e) {
                auto& ep = pool->endpoint(e);
                gen->endpoint_metrics.push_back(
                    std::make_unique<EndpointMetrics>(catalogue_->endpoint(pool->name(), ep.label)));
                ep.metrics = gen->endpoint_metrics.back().get();
            }
        }
        gen->upstreams.push_back(std::move(pool));
    }
    for (std::size_t i = 0; i < options.listeners.size(); ++i) {
        const auto& l = options.listeners[i];
        auto ctx = std::make_unique<ListenerContext>();
        ctx->options = l;
        for (auto& u : gen->upstreams)
            if (u->name() == l.upstream) ctx->upstream = u.get();
        if (l.handler == Handler::none && !ctx->upstream)
            throw std::runtime_error("listener " + l.name + ": unknown upstream '" + l.upstream + "'");
        ctx->client_codec = codecs.listener[i].first;
        ctx->upstream_codec = codecs.listener[i].second;
        ctx->passthrough = ctx->client_codec == ctx->upstream_codec ||
                           (ctx->client_codec && ctx->upstream_codec &&
                            ctx->client_codec->same_framing(*ctx->upstream_codec));
        if (l.handler == Handler::echo) ctx->passthrough = true;
        ctx->block_size = data_block_size(l);
        ctx->max_raw_block_size = std::max<std::size_t>(l.max_buffer_size, ctx->block_size);
        ctx->loop_balancer = std::make_unique<LoopBalancer>(l.balancer, *loops_);
        if (catalogue_)
            ctx->metrics = catalogue_->listener(
                l, ctx->client_codec ? ctx->client_codec->name() : "",
                ctx->upstream_codec && l.handler == Handler::none ? ctx->upstream_codec->name() : "");
        // A stream listener whose upstream speaks UDP bridges: each frame is one datagram.
        const bool bridged =
            !l.datagram() && ctx->upstream && ctx->upstream->options().protocol == UpstreamProtocol::udp;
        if (bridged) ctx->start_session = &StreamToDatagramSession::start;
        if ((l.datagram() || bridged) && catalogue_) {
            ctx->datagram_metrics = catalogue_->datagram_listener(l);
            for (std::size_t e = 0; ctx->upstream && e < ctx->upstream->size(); ++e) {
                auto& ep = ctx->upstream->endpoint(e);
                if (ep.metrics) catalogue_->endpoint_datagrams(*ep.metrics, ctx->upstream->name(), ep.label);
            }
        }
        gen->contexts.push_back(std::move(ctx));
    }
    return gen;
}

std::shared_ptr<EndpointHealth> Runtime::endpoint_health(const std::string& upstream, const std::string& endpoint,
                                                         bool datagram) {
    auto& slot = endpoint_health_[{upstream, endpoint, datagram}];
    if (!slot) slot = std::make_shared<EndpointHealth>();
    return slot;
}

void Runtime::prune_endpoint_health() {
    std::erase_if(endpoint_health_, [](const auto& entry) { return entry.second.use_count() == 1; });
}

void Runtime::start_health_checks() {
    std::vector<UpstreamPool*> pools;
    std::vector<UpstreamHealthCollector::Endpoint> listed;
    for (auto& pool : current_->upstreams) {
        const bool checked = pool->options().health_check.has_value();
        for (std::size_t e = 0; e < pool->size(); ++e) {
            auto& ep = pool->endpoint(e);
            if (!checked) {
                ep.health->check_failed.store(false, std::memory_order_relaxed);
                ep.health->checked = false;
            }
            listed.push_back({pool->name(), ep.label, ep.health, checked});
        }
        pools.push_back(pool.get());
    }
    current_->health_checks = health_checker_->check(pools);
    if (health_collector_) health_collector_->set(std::move(listed));
}

void Runtime::apply_loop_settings(const Options& options) {
    const auto sweep = idle_sweep_period(options);
    const auto tick = std::chrono::duration_cast<std::chrono::steady_clock::duration>(options.tick);
    const bool yield = options.loop_wait == LoopWait::yield;
    on_every_loop(*loops_, [sweep, tick, yield](EventLoop& loop) {
        loop.retime(tick, sweep);
        loop.set_yield_before_sleep(yield);
    });
}

void Runtime::publish_summary() {
    Summary next;
    next.log_every = current_->options.log_every;
    for (auto& ctx : current_->contexts) {
        next.listeners.emplace_back(ctx->options.name, ctx->listener_active);
        next.contexts.push_back(ctx.get());
    }
    std::lock_guard lock(summary_mutex_);
    summary_ = std::move(next);
}

bool Runtime::loops_ticking(std::chrono::steady_clock::duration within) const {
    const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::steady_clock::now().time_since_epoch()).count();
    const auto limit = std::chrono::duration_cast<std::chrono::nanoseconds>(within).count();
    for (std::size_t i = 0; i < loops_->size(); ++i)
        if (now - last_tick_ns_[i].load(std::memory_order_relaxed) > limit) return false;
    return true;
}

void Runtime::wedge_loop_for_test(std::size_t index, std::chrono::milliseconds how_long) {
    if (index >= loops_->size()) return;
    spdlog::warn("test hook: wedging loop {} for {} ms", index, how_long.count());
    loops_->at(index).post([how_long] { std::this_thread::sleep_for(how_long); });
}

void Runtime::on_tick(std::size_t loop, double lag_seconds) {
    last_tick_ns_[loop].store(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::steady_clock::now().time_since_epoch()).count(),
                              std::memory_order_relaxed);
    auto& m = loop_metrics_[loop];
    if (m.ticks) m.ticks->inc(loop);
    if (m.lag) m.lag->observe(loop, std::max(0.0, lag_seconds));
    std::size_t hosted = loops_->at(loop).session_count();
    if (m.connections_active) m.connections_active->set(loop, static_cast<double>(hosted));
    std::uint64_t tick = ++ticks_[loop];
    spdlog::debug("loop {}: tick {}: {} connections, lag {:.3f} ms", loop, tick, hosted, lag_seconds * 1000);
    if (loop != 0) return;
    // Loop 0 summarises every rate-limited burst of log lines that has ended since its last tick,
    // and every log_every ticks writes the summary line, from counts any thread may read.
    std::lock_guard lock(summary_mutex_);
    for (ListenerContext* c : summary_.contexts) c->logs.summarise_ended_bursts(c->options.name);
    if (!spdlog::should_log(spdlog::level::info) || summary_.log_every == 0 || tick % summary_.log_every != 0) return;
    std::string per_listener, per_loop;
    for (auto& [name, active] : summary_.listeners)
        per_listener += fmt::format("{}{}={}", per_listener.empty() ? "" : " ", name, active->load(std::memory_order_relaxed));
    for (std::size_t i = 0; i < loops_->size(); ++i)
        per_loop += fmt::format("{}{}", i ? "/" : "", loops_->at(i).session_count());
    spdlog::info("connections: {} (listeners: {}; loops: {})", loops_->session_count(), per_listener, per_loop);
}

namespace {

// Either kind of listener takes the sockets passed under its name, or binds its own.
template <class AnyListener>
void open_or_adopt(AnyListener& l, InheritedSockets& inherited) {
    std::vector<int> fds = inherited.take(l.name());
    if (fds.empty()) {
        l.open();
        return;
    }
    l.adopt(std::move(fds));
    spdlog::info("listener {}: took over its socket(s) from {}", l.name(), inherited.origin);
}

}  // namespace

void Runtime::start(InheritedSockets inherited, const std::function<void()>& bound) {
    if (started_) return;
    for (auto& l : datagram_listeners_) open_or_adopt(*l, inherited);
    for (auto& l : listeners_) open_or_adopt(*l, inherited);
    if (exposition_) {
        admin_server_ = std::make_unique<admin::AdminServer>(*exposition_, [this] { return health(); },
                                                             options().metrics.listen, options().metrics.path);
        std::vector<int> admin_fds = inherited.take(admin_socket_name);
        for (std::size_t i = 1; i < admin_fds.size(); ++i) ::close(admin_fds[i]);
        admin_server_->start(admin_fds.empty() ? -1 : admin_fds.front());
    }
    for (const auto& name : inherited.names())
        spdlog::warn("no listener is named {}: closing the socket(s) {} passed for it", name, inherited.origin);
    if (bound) bound();

    for (auto& l : listeners_) l->start_accepting();
    for (auto& l : datagram_listeners_) l->start_accepting();
    loops_->start();
    start_health_checks();
    started_ = true;
    phase_.store(Phase::serving);
}

void Runtime::stop_accepting() {
    if (!started_ || stopped_) return;
    phase_.store(Phase::draining);
    for (auto& l : listeners_) l->stop_accepting();
    // No new connection will pick an endpoint: checking them serves nobody.
    current_->health_checks.reset();
    for (auto& l : datagram_listeners_) l->stop_accepting();
}

admin::HealthReport Runtime::health() const {
    switch (phase_.load()) {
        case Phase::starting: return {false, "starting"};
        case Phase::serving:
            return {true, fmt::format("serving: {} listeners accepting, {} connections", listener_count_.load(),
                                      loops_->session_count())};
        case Phase::draining:
            return {false, fmt::format("draining: {} connections open", loops_->session_count())};
        case Phase::stopped: break;
    }
    return {false, "stopped"};
}

bool Runtime::wait_drained(Duration timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (loops_->session_count() > 0) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        // Poll: the count is published by each loop; 20 ms is far below any useful timeout.
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

void Runtime::stop() {
    if (stopped_) return;
    stopped_ = true;
    phase_.store(Phase::stopped);
    if (started_) {
        for (std::size_t i = 0; i < loops_->size(); ++i) {
            auto& loop = loops_->at(i);
            loop.post([&loop] { loop.force_close_all(); });
        }
        // Give the loops a moment to run the closes before they stop.
        wait_drained(std::chrono::milliseconds(500));
    }
    // Health checks stop before anything they report to goes.
    if (current_) current_->health_checks.reset();
    for (auto& gen : retired_) gen->health_checks.reset();
    health_checker_.reset();
    // The admin endpoint goes first: its collectors read the loop threads' clocks.
    if (admin_server_) admin_server_->stop();
    if (loops_) {
        loops_->stop();
        loops_->join();
    }
    listeners_.clear();
    stopped_listeners_.clear();
    datagram_listeners_.clear();  // ends udp sessions still open (the loops have stopped)
    stopped_datagram_listeners_.clear();
    // Destroying the loops destroys handlers still queued, and with them the last sessions,
    // while the listener contexts those sessions point at are still alive.
    loops_.reset();
    retired_.clear();
    current_.reset();
}

std::vector<std::pair<std::string, std::vector<int>>> Runtime::listening_sockets() const {
    std::vector<std::pair<std::string, std::vector<int>>> out;
    for (const auto& l : listeners_) out.emplace_back(l->name(), l->listening_fds());
    for (const auto& l : datagram_listeners_) out.emplace_back(l->name(), l->listening_fds());
    if (admin_server_ && admin_server_->listening_fd() >= 0)
        out.emplace_back(admin_socket_name, std::vector<int>{admin_server_->listening_fd()});
    return out;
}

void Runtime::with_loops_paused(const std::function<void()>& fn) {
    struct Gate {
        std::mutex mutex;
        std::condition_variable changed;
        std::size_t parked = 0;
        bool released = false;
    };
    auto gate = std::make_shared<Gate>();
    const std::size_t n = loops_->size();
    for (std::size_t i = 0; i < n; ++i) {
        loops_->at(i).post([gate] {
            std::unique_lock lock(gate->mutex);
            ++gate->parked;
            gate->changed.notify_all();
            gate->changed.wait(lock, [&] { return gate->released; });
        });
    }
    auto release = [&] {
        std::lock_guard lock(gate->mutex);
        gate->released = true;
        gate->changed.notify_all();
    };
    {
        std::unique_lock lock(gate->mutex);
        gate->changed.wait(lock, [&] { return gate->parked == n; });
    }
    try {
        fn();
    } catch (...) {
        release();
        throw;
    }
    release();
}

void Runtime::hand_over() {
    phase_.store(Phase::draining);
    // The sockets live on in the new process: close this process's copies without unlinking a
    // unix socket file the new process now accepts on, and let the admin port go with them.
    for (auto& l : listeners_) {
        l->keep_socket_file();
        l->stop_accepting();
    }
    // udp: the new process reads the sockets from now on (a client's next datagram opens its
    // session there); open sessions here only send their last replies, until idle.
    for (auto& l : datagram_listeners_) l->stop_reading();
    if (admin_server_) admin_server_->stop();
    current_->health_checks.reset();  // the new process checks from now on
}

ReloadOutcome Runtime::reload(const Options& next) {
    ReloadOutcome out;
    const Options& now = options();
    const std::size_t wanted_loops = next.loops ? next.loops : std::max(1u, std::thread::hardware_concurrency());
    if (wanted_loops != loops_->size())
        out.warnings.push_back(fmt::format("loops: {} needs a restart; still running {} loops", wanted_loops,
                                           loops_->size()));
    if (next.metrics.listen != now.metrics.listen || next.metrics.path != now.metrics.path)
        out.warnings.push_back(fmt::format("metrics: listen {} path {} needs a restart; still serving on {}{}",
                                           next.metrics.listen.empty() ? "\"\"" : next.metrics.listen,
                                           next.metrics.path, now.metrics.listen, now.metrics.path));
    CodecPlan codecs = open_codecs(next, &out.errors);
    if (!out.errors.empty()) return out;
    std::unique_ptr<Generation> gen;
    try {
        gen = build_generation(next, codecs);
    } catch (const std::exception& e) {
        out.errors.push_back({SourceMark{"", 0, 0}, e.what()});
        return out;
    }

    // Match every listener of the new configuration with a running one of its kind that can
    // keep its sockets: by name first, then (a rename) by address, unless the address picks a
    // port.
    auto match = [&](const auto& running, bool datagram, auto& kept, std::vector<bool>& taken) {
        for (bool by_name : {true, false}) {
            for (std::size_t i = 0; i < next.listeners.size(); ++i) {
                const auto& l = next.listeners[i];
                if (kept[i] || l.datagram() != datagram) continue;
                if (!by_name && l.protocol != ListenerProtocol::unix_stream && l.listen.ends_with(":0")) continue;
                for (std::size_t j = 0; j < running.size(); ++j) {
                    if (taken[j] || !running[j]->can_keep_sockets(l)) continue;
                    if (by_name && running[j]->name() != l.name) continue;
                    kept[i] = running[j].get();
                    taken[j] = true;
                    break;
                }
            }
        }
    };
    std::vector<Listener*> kept(next.listeners.size(), nullptr);
    std::vector<bool> taken(listeners_.size(), false);
    match(listeners_, false, kept, taken);
    std::vector<DatagramListener*> kept_udp(next.listeners.size(), nullptr);
    std::vector<bool> taken_udp(datagram_listeners_.size(), false);
    match(datagram_listeners_, true, kept_udp, taken_udp);
    // A udp listener an earlier reload removed still holds its sockets while its sessions end:
    // given back, it serves again on them (a new socket beside it would share a reuse_port
    // group with it, and the kernel would hand it part of the new clients, to be dropped).
    std::vector<bool> revived(stopped_datagram_listeners_.size(), false);
    match(stopped_datagram_listeners_, true, kept_udp, revived);

    // Bind the new listeners first: if one fails, nothing has changed yet.
    std::vector<std::unique_ptr<Listener>> opened(next.listeners.size());
    std::vector<std::unique_ptr<DatagramListener>> opened_udp(next.listeners.size());
    for (std::size_t i = 0; i < next.listeners.size(); ++i) {
        if (kept[i] || kept_udp[i]) continue;
        try {
            if (next.listeners[i].datagram()) {
                opened_udp[i] = std::make_unique<DatagramListener>(*gen->contexts[i], *loops_);
                opened_udp[i]->open();
            } else {
                opened[i] = std::make_unique<Listener>(*gen->contexts[i], *loops_);
                opened[i]->open();
            }
        } catch (const std::exception& e) {
            out.errors.push_back({SourceMark{"listeners[" + std::to_string(i) + "]", 0, 0}, e.what()});
        }
    }
    if (!out.errors.empty()) return out;  // `opened` and `opened_udp` close what they bound

    // Commit. Kept listeners carry their shared connection count, rate bucket and per-IP counts
    // into the new contexts.
    std::vector<std::unique_ptr<Listener>> listeners;
    std::vector<std::unique_ptr<DatagramListener>> datagram_listeners;
    std::vector<std::pair<DatagramListener*, ListenerContext*>> udp_switches;
    for (std::size_t i = 0; i < next.listeners.size(); ++i) {
        auto& ctx = *gen->contexts[i];
        if (next.listeners[i].datagram()) {
            if (kept_udp[i]) {
                ctx.listener_active = kept_udp[i]->context().listener_active;
                ctx.admission = kept_udp[i]->context().admission;
                udp_switches.emplace_back(kept_udp[i], &ctx);
                for (auto* from : {&datagram_listeners_, &stopped_datagram_listeners_})
                    for (auto& l : *from)
                        if (l.get() == kept_udp[i]) datagram_listeners.push_back(std::move(l));
                if (kept_udp[i]->accepting()) {
                    ++out.listeners_kept;
                } else {
                    // Its sessions are its own again: not closed at shutdown_timeout.
                    const auto lineage = contexts_of(kept_udp[i]->context());
                    for (Generation* g : generations())
                        std::erase_if(g->removed, [&](const void* c) {
                            return std::find(lineage.begin(), lineage.end(), c) != lineage.end();
                        });
                    kept_udp[i]->resume_accepting();
                    ++out.listeners_added;
                }
            } else {
                opened_udp[i]->start_accepting();
                datagram_listeners.push_back(std::move(opened_udp[i]));
                ++out.listeners_added;
            }
            continue;
        }
        if (kept[i]) {
            for (std::size_t j = 0; j < listeners_.size(); ++j) {
                if (listeners_[j].get() != kept[i]) continue;
                ctx.listener_active = kept[i]->context().listener_active;
                ctx.admission = kept[i]->context().admission;
                kept[i]->switch_context(ctx);
                listeners.push_back(std::move(listeners_[j]));
            }
            ++out.listeners_kept;
        } else {
            opened[i]->start_accepting();
            listeners.push_back(std::move(opened[i]));
            ++out.listeners_added;
        }
    }
    for (std::size_t j = 0; j < listeners_.size(); ++j) {
        if (taken[j]) continue;
        listeners_[j]->stop_accepting();
        for (const void* c : contexts_of(listeners_[j]->context())) current_->removed.push_back(c);
        out.removed.push_back(listeners_[j]->name());
        stopped_listeners_.push_back(std::move(listeners_[j]));
        ++out.listeners_removed;
    }
    // udp listeners switch with every loop parked: a loop's sessions table, batches and inbox
    // are its own, and the switch changes what its next datagram is read with.
    if (!udp_switches.empty())
        with_loops_paused([&] {
            for (auto [listener, ctx] : udp_switches) listener->switch_context(*ctx);
        });
    for (std::size_t j = 0; j < datagram_listeners_.size(); ++j) {
        if (taken_udp[j]) continue;
        // Its open sessions still reply through its sockets: they stay until those end.
        datagram_listeners_[j]->stop_accepting();
        for (const void* c : contexts_of(datagram_listeners_[j]->context())) current_->removed.push_back(c);
        out.removed.push_back(datagram_listeners_[j]->name());
        stopped_datagram_listeners_.push_back(std::move(datagram_listeners_[j]));
        ++out.listeners_removed;
    }
    std::erase(stopped_datagram_listeners_, nullptr);  // the revived ones
    listeners_ = std::move(listeners);
    datagram_listeners_ = std::move(datagram_listeners);
    listener_count_.store(listeners_.size() + datagram_listeners_.size());
    current_->retired_at = std::chrono::steady_clock::now();
    // The retired pools are checked no more; the new ones are, from now on. Endpoints both
    // name keep their health (shared state): no endpoint flips to healthy by a reload.
    current_->health_checks.reset();
    retired_.push_back(std::move(current_));
    current_ = std::move(gen);
    start_health_checks();
    prune_endpoint_health();
    apply_loop_settings(current_->options);
    publish_summary();
    out.applied = true;
    reap();
    return out;
}

void Runtime::reap() {
    struct Publish {
        Runtime& rt;
        ~Publish() {
            if (rt.reload_metrics_) rt.reload_metrics_->draining(rt.retired_.size());
        }
    } publish{*this};
    free_stopped_datagram_listeners();
    if (retired_.empty()) return;
    const auto now = std::chrono::steady_clock::now();
    const auto drain = current_->options.shutdown_timeout;
    bool any_idle = false;
    for (auto& gen : retired_) {
        if (gen->open_sessions() == 0) {
            any_idle = true;
        } else if (!gen->removed.empty() && !gen->removed_closed && now - gen->retired_at >= drain) {
            gen->removed_closed = true;
            auto owners = gen->removed;
            spdlog::warn("reload: shutdown_timeout reached: closing the connections of {} removed listener(s)",
                         owners.size());
            for (std::size_t i = 0; i < loops_->size(); ++i) {
                EventLoop& loop = loops_->at(i);
                loop.post([&loop, owners] { loop.force_close_owned(owners); });
            }
        }
    }
    if (!any_idle) return;
    // A session's last touch of its context is the count going to 0 in close(); the barrier
    // lets whatever that close deferred finish before the context goes. Only generations idle
    // before the barrier are freed: one whose last session closes during it waits for the next.
    std::vector<Generation*> idle;
    for (auto& gen : retired_)
        if (gen->open_sessions() == 0) idle.push_back(gen.get());
    on_every_loop(*loops_, [](EventLoop&) {});
    // A removal names every context of the listener, older generations' too: forget the ones
    // freed here, so no later context at the same address is taken for them.
    for (Generation* freed : idle)
        for (const auto& c : freed->contexts)
            for (Generation* g : generations())
                if (std::find(idle.begin(), idle.end(), g) == idle.end()) std::erase(g->removed, c.get());
    std::erase_if(retired_, [&](const std::unique_ptr<Generation>& gen) {
        return std::find(idle.begin(), idle.end(), gen.get()) != idle.end();
    });
    prune_endpoint_health();
    spdlog::info("reload: {} replaced configuration(s) freed (their last connection closed); {} still draining",
                 idle.size(), retired_.size());
}

std::vector<Generation*> Runtime::generations() const {
    std::vector<Generation*> out;
    if (current_) out.push_back(current_.get());
    for (const auto& g : retired_) out.push_back(g.get());
    return out;
}

std::vector<const void*> Runtime::contexts_of(const ListenerContext& ctx) const {
    // A kept listener's contexts share its connection count: that names the listener.
    std::vector<const void*> out;
    for (Generation* g : generations())
        for (const auto& c : g->contexts)
            if (c->listener_active == ctx.listener_active) out.push_back(c.get());
    return out;
}

void Runtime::free_stopped_datagram_listeners() {
    std::vector<DatagramListener*> done;
    for (auto& l : stopped_datagram_listeners_)
        if (l->open_sessions() == 0) done.push_back(l.get());
    if (done.empty()) return;
    // Stop reading with the loops parked; let every loop run what was posted or deferred for
    // them before; then free them, parked again (their timers live in the loops' queues).
    with_loops_paused([&] {
        for (auto* l : done) l->retire();
    });
    on_every_loop(*loops_, [](EventLoop&) {});
    with_loops_paused([&] {
        std::erase_if(stopped_datagram_listeners_, [&](const std::unique_ptr<DatagramListener>& l) {
            return std::find(done.begin(), done.end(), l.get()) != done.end();
        });
    });
    spdlog::info("reload: {} removed udp listener(s) closed (their last session ended)", done.size());
}

void Runtime::record_reload(bool success, const std::string& config_hash) {
    if (reload_metrics_) reload_metrics_->reloaded(success, config_hash);
}

void Runtime::record_start(const std::string& config_hash) {
    if (reload_metrics_) reload_metrics_->loaded(config_hash);
}

std::size_t Runtime::active_sessions() const { return loops_ ? loops_->session_count() : 0; }
std::size_t Runtime::loop_count() const { return loop_metrics_.size(); }

std::vector<std::pair<std::string, std::string>> Runtime::listener_addresses() const {
    std::vector<std::pair<std::string, std::string>> out;
    // Config order.
    for (const auto& l : options().listeners) {
        if (l.datagram()) {
            for (const auto& d : datagram_listeners_)
                if (d->name() == l.name) out.emplace_back(d->name(), d->bound_address());
        } else {
            for (const auto& s : listeners_)
                if (s->name() == l.name) out.emplace_back(s->name(), s->bound_address());
        }
    }
    return out;
}

std::string Runtime::metrics_address() const {
    if (!admin_server_) return "";
    const std::string& listen = options().metrics.listen;
    std::string host = listen.substr(0, listen.rfind(':'));
    return host + ":" + std::to_string(admin_server_->bound_port());
}

}  // namespace switchyard
