#pragma once
// One client thread: its own io_context, its share of the connections, its own stats. Starts
// connections at most `connect_concurrency` at a time (so thousands of connects do not overflow
// a listen backlog), opens the measured window after the warm-up and ends the run on time.
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "tests/bench/loadgen/ClientConnection.hpp"
#include "tests/bench/loadgen/ClientStats.hpp"
#include "tests/bench/loadgen/ConnectionObserver.hpp"
#include "tests/bench/loadgen/MessagePool.hpp"

namespace switchyard::loadgen {

class ClientWorker final : public ConnectionObserver {
public:
    using Clock = std::chrono::steady_clock;
    using SettledCallback = std::function<void(bool established)>;  // called on this thread

    struct Schedule {
        Clock::time_point start;           // same for all workers
        Clock::duration warmup{};          // measured window opens at start + warmup
        Clock::duration duration{};        // and closes this much later
        unsigned connect_concurrency = 128;
    };

    // `plans` are this worker's connections. Thread rule: any thread, before run().
    ClientWorker(std::vector<ClientConnection::Plan> plans, const MessagePool& pool, Schedule schedule,
                 SettledCallback on_settled_cb);
    ~ClientWorker();

    // Runs the io_context on the calling thread until the window closes or stop is requested.
    // Thread rule: the worker's own thread.
    void run();

    // Ends the run early (signal). Thread rule: any thread.
    void request_stop();

    // Valid after run() returned. Thread rule: any thread that joined the worker's thread.
    const ClientStats& stats() const { return stats_; }
    double measured_seconds() const;

    // ConnectionObserver: loop thread only.
    bool measuring() const override { return measuring_; }
    bool stopping() const override { return stopping_; }
    void on_settled(bool established) override;

private:
    void launch_connections();
    void stop();

    boost::asio::io_context io_{1};  // one thread: no internal locking needed
    std::vector<ClientConnection::Plan> plans_;
    const MessagePool& pool_;
    Schedule schedule_;
    SettledCallback on_settled_cb_;
    ClientStats stats_;
    std::vector<std::unique_ptr<ClientConnection>> connections_;
    boost::asio::steady_timer window_open_timer_{io_};
    boost::asio::steady_timer window_close_timer_{io_};
    std::size_t next_to_start_ = 0;
    unsigned connecting_ = 0;
    bool measuring_ = false;
    bool stopping_ = false;
    Clock::time_point window_begin_{};
    Clock::time_point window_end_{};
};

}  // namespace switchyard::loadgen
