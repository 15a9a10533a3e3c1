#pragma once
// The three load-balancing policies, shared by loop selection (listeners) and endpoint
// selection (upstreams).
#include <optional>
#include <string_view>

namespace switchyard {

enum class BalancePolicy { round_robin, source_addr_hash, least_connections };

constexpr std::string_view to_string(BalancePolicy p) {
    switch (p) {
        case BalancePolicy::round_robin: return "round-robin";
        case BalancePolicy::source_addr_hash: return "source-addr-hash";
        case BalancePolicy::least_connections: return "least-connections";
    }
    return "?";
}

constexpr std::optional<BalancePolicy> parse_balance_policy(std::string_view s) {
    if (s == "round-robin") return BalancePolicy::round_robin;
    if (s == "source-addr-hash") return BalancePolicy::source_addr_hash;
    if (s == "least-connections") return BalancePolicy::least_connections;
    return std::nullopt;
}

}  // namespace switchyard
