#include "core/runtime/Runtime.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "core/codec/Codec.hpp"
#include "core/loop/LoopGroup.hpp"
#include "core/metrics/BuildInfo.hpp"
#include "core/metrics/Counter.hpp"
#include "core/metrics/Gauge.hpp"
#include "core/metrics/Histogram.hpp"
#include "core/metrics/MetricsServer.hpp"
#include "core/metrics/ProcessCollector.hpp"
#include "core/metrics/Registry.hpp"
#include "core/metrics/SampleWriter.hpp"
#include "core/proxy/Listener.hpp"
#include "core/proxy/ListenerContext.hpp"
#include "core/proxy/UpstreamPool.hpp"
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
        rt->registry_ = std::make_unique<metrics::Registry>(n);
        metrics::add_build_info(*rt->registry_);
        metrics::ProcessCollector::add_to(*rt->registry_);
        LoopGroup* loops = rt->loops_.get();
        rt->registry_->add_collector([n, loops](metrics::SampleWriter& w) {
            w.family("switchyard_loops", "Event loops (threads) serving connections.", metrics::MetricType::gauge);
            w.sample("switchyard_loops", {}, static_cast<double>(n));
            // Read from each loop thread's CPU clock at scrape time: nothing on the data path.
            w.family("switchyard_loop_busy_seconds_total",
                     "CPU time the event loop thread has used: a loop near 1 s/s is saturated.",
                     metrics::MetricType::counter);
            for (std::size_t i = 0; i < n; ++i)
                w.sample("switchyard_loop_busy_seconds_total", {{"loop", std::to_string(i)}}, loops->at(i).cpu_seconds());
            w.family("switchyard_buffer_bytes",
                     "Relay buffer memory of the loop: lent to connections with data in flight, or pooled for reuse.",
                     metrics::MetricType::gauge);
            for (std::size_t i = 0; i < n; ++i) {
                const EventLoop& loop = loops->at(i);
                std::string index = std::to_string(i);
                w.sample("switchyard_buffer_bytes", {{"loop", index}, {"state", "borrowed"}},
                         static_cast<double>(loop.buffer_bytes_borrowed()));
                w.sample("switchyard_buffer_bytes", {{"loop", index}, {"state", "pooled"}},
                         static_cast<double>(loop.buffer_bytes_pooled()));
            }
        });
        rt->catalogue_ = std::make_unique<MetricsCatalogue>(*rt->registry_);
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
            ctx->metrics = rt->catalogue_->listener(
                l.name, ctx->client_codec ? ctx->client_codec->name() : "",
                ctx->upstream_codec && l.handler == Handler::none ? ctx->upstream_codec->name() : "");
        for (Duration limit : {l.idle_timeout, l.codec ? l.frame_timeout : Duration{0}})
            if (limit.count() > 0 && (shortest_idle.count() == 0 || limit < shortest_idle)) shortest_idle = limit;
        rt->listeners_.push_back(std::make_unique<Listener>(*ctx, *rt->loops_));
        rt->contexts_.push_back(std::move(ctx));
    }

    // The idle sweep (idle_timeout, and frame_timeout on framed listeners) runs often enough that
    // a connection is closed within ~1/8 of its timeout late, and never more than once every
    // 10 ms or less than once a second.
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
    // Loop 0 summarises every rate-limited burst of log lines that has ended since its last tick.
    if (loop == 0)
        for (auto& c : contexts_) c->logs.summarise_ended_bursts(c->options.name);
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
    if (registry_) {
        metrics_server_ = std::make_unique<metrics::MetricsServer>(*registry_, options_.metrics.listen,
                                                                   options_.metrics.path);
        metrics_server_->start();
    }
    for (auto& l : listeners_) l->start_accepting();
    loops_->start();
    started_ = true;
}

void Runtime::stop_accepting() {
    if (!started_ || stopped_) return;
    for (auto& l : listeners_) l->stop_accepting();
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
    if (started_) {
        for (std::size_t i = 0; i < loops_->size(); ++i) {
            auto& loop = loops_->at(i);
            loop.post([&loop] { loop.force_close_all(); });
        }
        // Give the loops a moment to run the closes before they stop.
        wait_drained(std::chrono::milliseconds(500));
    }
    // The exporter goes first: its collectors read the loop threads' clocks.
    if (metrics_server_) metrics_server_->stop();
    if (loops_) {
        loops_->stop();
        loops_->join();
    }
    listeners_.clear();
    // Destroying the loops destroys handlers still queued, and with them the last sessions,
    // while the listener contexts those sessions point at are still alive.
    loops_.reset();
}

std::size_t Runtime::active_sessions() const { return loops_ ? loops_->session_count() : 0; }
std::size_t Runtime::loop_count() const { return loop_metrics_.size(); }

std::vector<std::pair<std::string, std::string>> Runtime::listener_addresses() const {
    std::vector<std::pair<std::string, std::string>> out;
    for (auto& l : listeners_) out.emplace_back(l->name(), l->bound_address());
    return out;
}

std::string Runtime::metrics_address() const {
    if (!metrics_server_) return "";
    std::string host = options_.metrics.listen.substr(0, options_.metrics.listen.rfind(':'));
    return host + ":" + std::to_string(metrics_server_->bound_port());
}

}  // namespace switchyard
