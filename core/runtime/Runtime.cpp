#include "core/runtime/Runtime.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <thread>

#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "core/admin/AdminServer.hpp"
#include "core/codec/Codec.hpp"
#include "core/loop/LoopGroup.hpp"
#include "core/metrics/BuildInfo.hpp"
#include "core/metrics/Exposition.hpp"
#include "core/metrics/ProcessCollector.hpp"
#include "core/metrics/ShardedMetrics.hpp"
#include "core/proxy/Listener.hpp"
#include "core/proxy/ListenerContext.hpp"
#include "core/proxy/UpstreamPool.hpp"
#include "core/proxy/datagram/DatagramListener.hpp"
#include "core/proxy/datagram/StreamToDatagramSession.hpp"
#include "core/runtime/LoopCollector.hpp"
#include "core/runtime/MetricsCatalogue.hpp"

namespace switchyard {
namespace {

// Slack added to the relay buffer of a translating direction is computed by the session; this
// is only the data part.
std::size_t data_block_size(const ListenerOptions& o) { return std::max<std::uint64_t>(o.buffer_size, 1024); }

std::string listener_path(std::size_t i) { return "listeners[" + std::to_string(i) + "]"; }

// Opens every codec the config names. Returns per listener (client codec, upstream codec).
struct CodecPlan {
    std::vector<std::shared_ptr<const Codec>> upstream;  // per upstream, null = listener's
    std::vector<std::pair<std::shared_ptr<const Codec>, std::shared_ptr<const Codec>>> listener;
};

CodecPlan open_codecs(const Options& options, std::vector<ConfigError>* errors) {
    CodecPlan plan;
    for (const auto& u : options.upstreams)
        plan.upstream.push_back(u.codec ? Codec::open(*u.codec, options.plugin_dir, errors) : nullptr);
    for (std::size_t i = 0; i < options.listeners.size(); ++i) {
        const auto& l = options.listeners[i];
        auto client = l.codec ? Codec::open(*l.codec, options.plugin_dir, errors) : nullptr;
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

}  // namespace

Runtime::Runtime(const Options& options) : options_(options) {}

Runtime::~Runtime() { stop(); }

std::vector<ConfigError> Runtime::check(const Options& options) {
    std::vector<ConfigError> errors;
    open_codecs(options, &errors);
    return errors;
}

std::unique_ptr<Runtime> Runtime::build(const Options& options, std::vector<ConfigError>* errors) {
    std::size_t before = errors->size();
    CodecPlan codecs = open_codecs(options, errors);
    if (errors->size() != before) return nullptr;

    std::unique_ptr<Runtime> rt(new Runtime(options));
    rt->loops_ = std::make_unique<LoopGroup>(options.loops);
    const std::size_t n = rt->loops_->size();
    rt->ticks_.assign(n, 0);
    const bool with_metrics = !options.metrics.listen.empty();
    if (with_metrics) {
        // Families that never change once built are plain prometheus-cpp ones.
        auto plain = std::make_shared<prometheus::Registry>();
        metrics::add_build_info(*plain);
        prometheus::BuildGauge()
            .Name("switchyard_loops")
            .Help("Event loops (threads) serving connections.")
            .Register(*plain)
            .Add({})
            .Set(static_cast<double>(n));
        rt->sharded_ = std::make_shared<metrics::ShardedMetrics>(n);
        rt->exposition_ = std::make_unique<metrics::Exposition>();
        rt->exposition_->add(rt->sharded_);
        rt->exposition_->add(plain);
        rt->exposition_->add(std::make_shared<LoopCollector>(*rt->loops_));
        rt->exposition_->add(std::make_shared<metrics::ProcessCollector>());
        rt->catalogue_ = std::make_unique<MetricsCatalogue>(*rt->sharded_);
        for (std::size_t i = 0; i < n; ++i) rt->loop_metrics_.push_back(rt->catalogue_->loop(i));
    } else {
        rt->loop_metrics_.resize(n);
    }

    for (std::size_t k = 0; k < options.upstreams.size(); ++k) {
        auto pool = std::make_unique<UpstreamPool>(options.upstreams[k], n);
        pool->codec = codecs.upstream[k];
        if (rt->catalogue_) {
            for (std::size_t e = 0; e < pool->size(); ++e) {
                auto& ep = pool->endpoint(e);
                rt->endpoint_metrics_.push_back(
                    std::make_unique<EndpointMetrics>(rt->catalogue_->endpoint(pool->name(), ep.label)));
                ep.metrics = rt->endpoint_metrics_.back().get();
            }
        }
        rt->upstreams_.push_back(std::move(pool));
    }

    Duration shortest_idle{0};
    for (std::size_t i = 0; i < options.listeners.size(); ++i) {
        const auto& l = options.listeners[i];
        auto ctx = std::make_unique<ListenerContext>();
        ctx->options = l;
        for (auto& u : rt->upstreams_)
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
        if (rt->catalogue_)
            ctx->metrics = rt->catalogue_->listener(l.name, ctx->client_codec ? ctx->client_codec->name() : "",
                                                    ctx->upstream_codec ? ctx->upstream_codec->name() : "");
        if (l.idle_timeout.count() > 0 && (shortest_idle.count() == 0 || l.idle_timeout < shortest_idle))
            shortest_idle = l.idle_timeout;
        // A stream listener whose upstream speaks UDP bridges: each frame is one datagram.
        const bool bridged = !l.datagram() && ctx->upstream && ctx->upstream->options().protocol == UpstreamProtocol::udp;
        if (bridged) ctx->start_session = &StreamToDatagramSession::start;
        if (l.datagram() || bridged) {
            if (rt->catalogue_) {
                ctx->datagram_metrics = rt->catalogue_->datagram_listener(l.name);
                for (std::size_t e = 0; ctx->upstream && e < ctx->upstream->size(); ++e) {
                    auto& ep = ctx->upstream->endpoint(e);
                    if (ep.metrics) rt->catalogue_->endpoint_datagrams(*ep.metrics, ctx->upstream->name(), ep.label);
                }
            }
        }
        if (l.datagram()) {
            rt->datagram_listeners_.push_back(std::make_unique<DatagramListener>(*ctx, *rt->loops_));
        } else {
            rt->listeners_.push_back(std::make_unique<Listener>(*ctx, *rt->loops_));
        }
        rt->contexts_.push_back(std::move(ctx));
    }

    // The idle sweep runs often enough that a connection is closed within ~1/8 of its timeout
    // late, and never more than once every 10 ms or less than once a second.
    std::chrono::steady_clock::duration sweep{0};
    if (shortest_idle.count() > 0)
        sweep = std::clamp<std::chrono::steady_clock::duration>(shortest_idle / 8, std::chrono::milliseconds(10),
                                                                std::chrono::seconds(1));
    Runtime* self = rt.get();
    for (std::size_t i = 0; i < n; ++i) {
        auto& loop = rt->loops_->at(i);
        loop.set_idle_sweep(sweep);
        loop.set_yield_before_sleep(options.loop_wait == LoopWait::yield);
        loop.set_tick(options.tick, [self](EventLoop& l, std::chrono::steady_clock::duration lag) {
            self->on_tick(l.index(), std::chrono::duration<double>(lag).count());
        });
    }
    return rt;
}

void Runtime::on_tick(std::size_t loop, double lag_seconds) {
    auto& m = loop_metrics_[loop];
    if (m.ticks) m.ticks->inc(loop);
    if (m.lag) m.lag->observe(loop, std::max(0.0, lag_seconds));
    std::size_t hosted = loops_->at(loop).session_count();
    if (m.connections_active) m.connections_active->set(loop, static_cast<double>(hosted));
    std::uint64_t tick = ++ticks_[loop];
    spdlog::debug("loop {}: tick {}: {} connections, lag {:.3f} ms", loop, tick, hosted, lag_seconds * 1000);
    // One loop writes the summary, every log_every ticks, from counts any thread may read.
    if (loop == 0 && options_.log_every > 0 && tick % options_.log_every == 0 && spdlog::should_log(spdlog::level::info)) {
        std::string per_listener, per_loop;
        for (auto& c : contexts_)
            per_listener += fmt::format("{}{}={}", per_listener.empty() ? "" : " ", c->options.name,
                                        c->active.load(std::memory_order_relaxed));
        for (std::size_t i = 0; i < loops_->size(); ++i)
            per_loop += fmt::format("{}{}", i ? "/" : "", loops_->at(i).session_count());
        spdlog::info("connections: {} (listeners: {}; loops: {})", loops_->session_count(), per_listener, per_loop);
    }
}

void Runtime::start() {
    if (started_) return;
    for (auto& l : listeners_) l->open();
    for (auto& l : datagram_listeners_) l->open();
    if (exposition_) {
        admin_server_ = std::make_unique<admin::AdminServer>(
            *exposition_, [this] { return health(); }, options_.metrics.listen, options_.metrics.path);
        admin_server_->start();
    }
    for (auto& l : listeners_) l->start_accepting();
    for (auto& l : datagram_listeners_) l->start_accepting();
    loops_->start();
    started_ = true;
    phase_.store(Phase::serving);
}

void Runtime::stop_accepting() {
    if (!started_ || stopped_) return;
    phase_.store(Phase::draining);
    for (auto& l : listeners_) l->stop_accepting();
    for (auto& l : datagram_listeners_) l->stop_accepting();
}

admin::HealthReport Runtime::health() const {
    switch (phase_.load()) {
        case Phase::starting: return {false, "starting"};
        case Phase::serving:
            return {true, fmt::format("serving: {} listeners accepting, {} connections",
                                      listeners_.size() + datagram_listeners_.size(),
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
    // The admin endpoint goes first: its collectors read the loop threads' clocks.
    if (admin_server_) admin_server_->stop();
    if (loops_) {
        loops_->stop();
        loops_->join();
    }
    listeners_.clear();
    datagram_listeners_.clear();  // ends udp sessions still open (the loops have stopped)
    // Destroying the loops destroys handlers still queued, and with them the last sessions,
    // while the listener contexts those sessions point at are still alive.
    loops_.reset();
}

std::size_t Runtime::active_sessions() const { return loops_ ? loops_->session_count() : 0; }
std::size_t Runtime::loop_count() const { return loop_metrics_.size(); }

std::vector<std::pair<std::string, std::string>> Runtime::listener_addresses() const {
    std::vector<std::pair<std::string, std::string>> out;
    std::size_t stream = 0, datagram = 0;  // config order, from the two kinds
    for (const auto& l : options_.listeners) {
        if (l.datagram() && datagram < datagram_listeners_.size()) {
            auto& d = datagram_listeners_[datagram++];
            out.emplace_back(d->name(), d->bound_address());
        } else if (!l.datagram() && stream < listeners_.size()) {
            auto& s = listeners_[stream++];
            out.emplace_back(s->name(), s->bound_address());
        }
    }
    return out;
}

std::string Runtime::metrics_address() const {
    if (!admin_server_) return "";
    std::string host = options_.metrics.listen.substr(0, options_.metrics.listen.rfind(':'));
    return host + ":" + std::to_string(admin_server_->bound_port());
}

}  // namespace switchyard
