#include "core/loop/LoopBalancer.hpp"

#include "core/loop/LoopGroup.hpp"

namespace switchyard {

std::size_t LoopBalancer::pick(std::uint64_t client_ip_hash) {
    const std::size_t n = loops_.size();
    if (n == 1) return 0;
    switch (policy_) {
        case BalancePolicy::source_addr_hash:
            if (client_ip_hash != 0) return client_ip_hash % n;
            break;
        case BalancePolicy::least_connections: {
            // Ties go round-robin so an idle group fills evenly rather than loop 0 first.
            std::size_t start = next_.fetch_add(1, std::memory_order_relaxed) % n;
            std::size_t best = start;
            std::int64_t best_load = loops_.at(start).load();
            for (std::size_t k = 1; k < n; ++k) {
                std::size_t i = (start + k) % n;
                std::int64_t l = loops_.at(i).load();
                if (l < best_load) {
                    best = i;
                    best_load = l;
                }
            }
            return best;
        }
        case BalancePolicy::round_robin:
            break;
    }
    return next_.fetch_add(1, std::memory_order_relaxed) % n;
}

}  // namespace switchyard
