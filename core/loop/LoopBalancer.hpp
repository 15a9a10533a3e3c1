#pragma once
// Picks the loop that serves a new connection: round-robin, source-addr-hash (client IP only,
// so one client's connections share a loop — gnet hashes ip:port instead), or
// least-connections (fewest connections assigned). Called on the accept path, never per byte.
#include <atomic>
#include <cstdint>

#include "core/options/BalancePolicy.hpp"

namespace switchyard {

class LoopGroup;

class LoopBalancer {
public:
    LoopBalancer(BalancePolicy policy, LoopGroup& loops) : policy_(policy), loops_(loops) {}

    // Any thread. client_ip_hash: hash of the client address without port (0 = no address,
    // e.g. a unix socket peer: falls back to round-robin).
    std::size_t pick(std::uint64_t client_ip_hash);

    BalancePolicy policy() const { return policy_; }

private:
    BalancePolicy policy_;
    LoopGroup& loops_;
    std::atomic<std::uint64_t> next_{0};
};

}  // namespace switchyard
