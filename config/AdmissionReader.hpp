#pragma once
// Readers for a listener's admission keys: `access` (allow/deny rules), `trusted_sources`
// (networks), `rate_limit`. Internal to config/. Thread rule: the thread running the load.
#include <optional>
#include <vector>

#include "config/YamlReader.hpp"

namespace switchyard {

// One network ("10.0.0.0/8", "2001:db8::/32", "192.0.2.7", all) or a list of them.
std::vector<Cidr> read_networks(YamlReader& reader, const YamlField& field);

// A list of one-key mappings, checked in order: `- allow: NETWORK(S)` / `- deny: NETWORK(S)`.
std::vector<AccessRule> read_access(YamlReader& reader, const YamlField& field);

// What a listener's rate_limit counts: new connections (tcp, unix) or new sessions (udp).
enum class RateLimited { connections, sessions };

// `{connections_per_second: N, burst: M}` on a stream listener, `{sessions_per_second: N,
// burst: M}` on a udp listener (the other spelling is an error naming the right one); burst
// defaults to the rate.
std::optional<RateLimitOptions> read_rate_limit(YamlReader& reader, const YamlField& field, RateLimited what);

}  // namespace switchyard
