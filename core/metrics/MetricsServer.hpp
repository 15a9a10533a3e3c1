#pragma once
// The /metrics HTTP exporter: HTTP/1.1 with keep-alive on a thread and io_context of its own, so a
// scrape never runs on a data loop. GET or HEAD on the metrics path answers the registry's text
// (text/plain; version=0.0.4); "/" answers a small page linking to it; other paths 404; other
// methods 405. Requests are size-bounded and a client silent for idle_timeout is closed, so slow
// or idle clients cannot pin the server. Asio and Beast stay in the .cpp.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace switchyard::metrics {

class Registry;

struct MetricsServerLimits {
    // A request must arrive whole, and a kept-alive connection must send its next one, within this.
    std::chrono::milliseconds idle_timeout{30000};
    std::size_t max_header_bytes = 8 * 1024;  // bigger: 431 and close
    std::size_t max_body_bytes = 4 * 1024;    // bigger: 413 and close
    std::size_t max_connections = 64;         // more: accepted and closed at once
};

class MetricsServer {
public:
    // `listen_address` is "host:port" or "[v6]:port" (port 0 picks a free port, see bound_port);
    // `path` is where the metrics are served, e.g. "/metrics". The registry must outlive the
    // server. Nothing is bound until start().
    MetricsServer(const Registry& registry, std::string listen_address, std::string path,
                  MetricsServerLimits limits = {});
    // Stops the server if running. Control thread.
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    // Binds and listens, then serves from a thread of its own; connections are accepted as soon
    // as this returns. Throws std::runtime_error with a one-line message on a bad address or a
    // failed bind ("metrics listen 127.0.0.1:9464: Address already in use"). Control thread;
    // at most once.
    void start();

    // Closes the listener and every connection and joins the thread. Idempotent. Control thread.
    void stop();

    // The port actually bound (the chosen one when asked for 0); 0 before start(). Any thread.
    std::uint16_t bound_port() const;

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace switchyard::metrics
