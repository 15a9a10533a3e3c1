#pragma once
// The endpoints of one upstream and how to choose among them: weighted round-robin (smooth,
// per loop, as nginx does), source-addr-hash (weighted table on the client IP), or
// least-connections (fewest active per unit of weight). Only endpoints that are usable take new
// connections: not failed by the active health checks, not ejected by max_fails consecutive
// failed connects or refused datagrams (see core/health/EndpointHealth.hpp). When none is
// usable, `when_all_down` decides: reject the connection, or balance over every endpoint
// regardless of health.
// Shared by every loop; per-loop state lives in per-loop slots, so a pick takes no lock.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/health/EndpointHealth.hpp"
#include "core/net/SocketAddress.hpp"
#include "core/options/Options.hpp"

namespace switchyard {

class Codec;
struct EndpointMetrics;
struct UpstreamMetrics;

struct UpstreamEndpoint {
    std::string label;               // as configured, e.g. "127.0.0.1:8080" (metric label)
    Address address;
    std::vector<SocketAddress> resolved;
    std::uint32_t weight = 1;
    EndpointMetrics* metrics = nullptr;  // set by the runtime; may be null in tests

    // Shared with the generations that name the same endpoint (the runtime replaces this
    // private one before the pool is used); never null.
    std::shared_ptr<EndpointHealth> health = std::make_shared<EndpointHealth>();

    // Connection open/close only (never per byte): relaxed RMW is fine here.
    alignas(64) std::atomic<std::int64_t> active{0};
};

class UpstreamPool {
public:
    // Control thread. Resolves every endpoint; throws std::runtime_error naming the endpoint
    // when one cannot be resolved.
    UpstreamPool(const UpstreamOptions& options, std::size_t loop_count);

    const std::string& name() const { return name_; }
    const UpstreamOptions& options() const { return options_; }
    std::size_t size() const { return endpoints_.size(); }
    UpstreamEndpoint& endpoint(std::size_t i) { return *endpoints_[i]; }

    static constexpr std::size_t kNone = SIZE_MAX;

    // Loop thread `loop` only. Chooses a usable endpoint for a connection's next attempt,
    // avoiding those in `tried` (bit i%64 = endpoint i tried) while another usable one is left.
    // With none usable: kNone under `when_all_down: reject`, else any endpoint (fail-open);
    // either is counted, and the pool's passage into and out of that state is logged once.
    std::size_t pick(std::size_t loop, std::uint64_t client_ip_hash, std::uint64_t tried);

    // What passive health heard of an endpoint: a stream connect that failed or was made, or a
    // datagram exchange (ICMP port unreachable on a session's connected UDP socket, or a reply).
    enum class Attempt : std::uint8_t { connect, datagram };

    // Any thread (a loop's): passive health bookkeeping (nginx's max_fails/fail_timeout).
    // max_fails consecutive failures eject the endpoint for fail_timeout (logged and counted
    // once); a success ends the count. report_success writes nothing shared unless the count is
    // non-zero (a relaxed load first), so a healthy endpoint costs one load.
    void report_failure(std::size_t i, Attempt attempt);
    void report_success(std::size_t i, Attempt attempt);

    // Any thread: endpoints usable now.
    std::size_t usable_count() const;

    // Set by the runtime before use; null in tests.
    UpstreamMetrics* metrics = nullptr;

    // Any thread: the codec the upstream side speaks (null = the listener's).
    std::shared_ptr<const Codec> codec;

    // Set by the runtime before use: the endpoints are UDP (the upstream serves udp listeners,
    // or says protocol: udp), so active health checks send datagrams instead of connecting.
    // Any thread after.
    bool datagram = false;

private:
    bool eligible(std::size_t i, std::uint64_t tried, std::int64_t now_ns, bool allow_down) const;
    std::size_t pick_round_robin(std::size_t loop, std::uint64_t tried, std::int64_t now_ns, bool allow_down);
    std::size_t pick_hash(std::uint64_t hash, std::uint64_t tried, std::int64_t now_ns, bool allow_down);
    std::size_t pick_least(std::size_t loop, std::uint64_t tried, std::int64_t now_ns, bool allow_down);

    struct alignas(64) LoopSlot {
        std::vector<std::int64_t> current_weight;  // smooth weighted round-robin state
        std::size_t rotate = 0;                    // tie breaker for least-connections
    };

    std::string name_;
    UpstreamOptions options_;
    std::vector<std::unique_ptr<UpstreamEndpoint>> endpoints_;
    std::vector<std::uint32_t> hash_table_;  // endpoint index repeated `weight` times
    std::vector<LoopSlot> slots_;
    // Whether the pool was last seen with no usable endpoint (logs the change once each way).
    alignas(64) std::atomic<bool> all_down_{false};
};

}  // namespace switchyard
