#include "tests/bench/loadgen/LoadRunner.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <memory>
#include <thread>

#include "tests/bench/loadgen/ClientWorker.hpp"
#include "tests/bench/loadgen/LoopbackAddress.hpp"
#include "tests/bench/loadgen/MessagePool.hpp"
#include "tests/bench/loadgen/SocketEndpoint.hpp"

namespace switchyard::loadgen {

namespace asio = boost::asio;

namespace {

// Enough distinct messages that neighbours always differ, few enough to stay in cache; never
// fewer than the pipeline depth, so every message in flight is distinct.
std::size_t pool_count(const LoadgenOptions& o) {
    const std::size_t by_memory = std::max<std::size_t>(2, (4u << 20) / o.size);
    return std::max<std::size_t>(o.pipeline, std::min<std::size_t>(64, by_memory));
}

// Announces, once, that every connection of a hold run is established (or failed). The driver
// waits for this line before it measures the proxy's memory.
class HoldAnnouncer {
public:
    explicit HoldAnnouncer(unsigned total) : total_(total) {}

    // Thread rule: any thread.
    void settled(bool established) {
        if (established) established_.fetch_add(1, std::memory_order_relaxed);
        if (settled_.fetch_add(1, std::memory_order_acq_rel) + 1 == total_) {
            const unsigned ok = established_.load(std::memory_order_relaxed);
            std::printf("{\"event\":\"held\",\"connections\":%u,\"failed\":%u}\n", ok, total_ - ok);
            std::fflush(stdout);
        }
    }

private:
    const unsigned total_;
    std::atomic<unsigned> settled_{0};
    std::atomic<unsigned> established_{0};
};

}  // namespace

RunResult run_load(const LoadgenOptions& o) {
    std::string error;
    const auto address = parse_loopback_address(o.target, false, &error);  // checked by the parser
    const MessagePool pool(o.framing, o.size, pool_count(o), o.seed);
    const bool hold = o.mode == RunMode::hold;

    const unsigned threads = std::min(o.threads, o.connections);
    std::vector<std::vector<ClientConnection::Plan>> plans(threads);
    for (unsigned c = 0; c < o.connections; ++c) {
        ClientConnection::Plan plan;
        plan.target = to_endpoint(*address);
        plan.tcp = !address->is_unix;
        plan.pipeline = o.pipeline;
        plan.hold = hold;
        plan.first_message = (static_cast<std::uint64_t>(c) * 7) % pool.count();
        plans[c % threads].push_back(std::move(plan));
    }

    ClientWorker::Schedule schedule;
    // Hold runs measure nothing but the one round trip: no warm-up, the duration bounds the hold.
    schedule.warmup = hold ? ClientWorker::Clock::duration{}
                           : std::chrono::duration_cast<ClientWorker::Clock::duration>(
                                 std::chrono::duration<double>(o.warmup_s));
    schedule.duration = std::chrono::duration_cast<ClientWorker::Clock::duration>(
        std::chrono::duration<double>(o.duration_s));
    schedule.connect_concurrency = std::max(1u, o.connect_concurrency / threads);

    HoldAnnouncer announcer(o.connections);
    ClientWorker::SettledCallback on_settled;
    if (hold) on_settled = [&announcer](bool established) { announcer.settled(established); };

    std::vector<std::unique_ptr<ClientWorker>> workers;
    schedule.start = ClientWorker::Clock::now();
    for (auto& p : plans) workers.push_back(std::make_unique<ClientWorker>(std::move(p), pool, schedule, on_settled));

    // Signals are waited for on the main thread; the last worker to finish releases it.
    asio::io_context signal_io(1);
    asio::signal_set signals(signal_io, SIGINT, SIGTERM);
    bool interrupted = false;
    signals.async_wait([&](const boost::system::error_code& ec, int) {
        if (ec) return;
        interrupted = true;
        for (auto& w : workers) w->request_stop();
    });
    std::atomic<unsigned> running{threads};
    std::vector<std::thread> pool_threads;
    for (auto& w : workers) {
        pool_threads.emplace_back([&, worker = w.get()] {
            worker->run();
            if (running.fetch_sub(1) == 1) asio::post(signal_io, [&] { signals.cancel(); });
        });
    }
    signal_io.run();
    for (auto& t : pool_threads) t.join();

    RunResult result;
    result.interrupted = interrupted;
    for (auto& w : workers) {
        result.stats.merge(w->stats());
        result.measured_s = std::max(result.measured_s, w->measured_seconds());
    }
    return result;
}

}  // namespace switchyard::loadgen
