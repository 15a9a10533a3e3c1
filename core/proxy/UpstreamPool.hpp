#pragma once
// The endpoints of one upstream and how to choose among them: weighted round-robin (smooth,
// per loop, as nginx does), source-addr-hash (weighted table on the client IP), or
// least-connections (fewest active per unit of weight). Passive health: an endpoint whose
// connect failed is skipped for a back-off period while another endpoint is available, then
// retried. Shared by every loop; per-loop state lives in per-loop slots, so a pick takes no lock.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/net/SocketAddress.hpp"
#include "core/options/Options.hpp"

namespace switchyard {

class Codec;
struct EndpointMetrics;

struct UpstreamEndpoint {
    std::string label;               // as configured, e.g. "127.0.0.1:8080" (metric label)
    Address address;
    std::vector<SocketAddress> resolved;
    std::uint32_t weight = 1;
    EndpointMetrics* metrics = nullptr;  // set by the runtime; may be null in tests

    // Connection open/close only (never per byte): relaxed RMW is fine here.
    alignas(64) std::atomic<std::int64_t> active{0};
    std::atomic<std::int64_t> down_until_ns{0};  // steady clock; 0 = up
    std::atomic<std::uint32_t> consecutive_failures{0};
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

    // Loop thread `loop` only. Chooses an endpoint for a connection's next attempt, avoiding
    // those in `tried` (bit i%64 = endpoint i tried) and those marked down while others remain.
    std::size_t pick(std::size_t loop, std::uint64_t client_ip_hash, std::uint64_t tried);

    // Any thread: passive health bookkeeping after a connect attempt.
    void report_failure(std::size_t i);
    void report_success(std::size_t i);

    // Any thread: the codec the upstream side speaks (null = the listener's).
    std::shared_ptr<const Codec> codec;

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
};

}  // namespace switchyard
