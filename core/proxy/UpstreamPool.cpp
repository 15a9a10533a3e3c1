#include "core/proxy/UpstreamPool.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <stdexcept>

#include "core/metrics/Counter.hpp"
#include "core/proxy/ProxyMetrics.hpp"

namespace switchyard {
namespace {

bool tried_bit(std::uint64_t tried, std::size_t i) { return (tried >> (i % 64)) & 1u; }

}  // namespace

UpstreamPool::UpstreamPool(const UpstreamOptions& options, std::size_t loop_count)
    : name_(options.name), options_(options), slots_(std::max<std::size_t>(loop_count, 1)) {
    for (const auto& ep : options.endpoints) {
        std::string error;
        auto parsed = parse_address(ep.address, &error);
        if (!parsed) throw std::runtime_error("upstream " + name_ + ": endpoint " + ep.address + ": " + error);
        auto e = std::make_unique<UpstreamEndpoint>();
        e->label = ep.address;
        e->address = *parsed;
        e->weight = std::max<std::uint32_t>(ep.weight, 1);
        if (parsed->is_unix()) {
            // A missing socket directory is a deployment mistake, not a transient failure.
            auto dir = parsed->path.substr(0, parsed->path.rfind('/'));
            struct stat st {};
            if (!dir.empty() && (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)))
                throw std::runtime_error("upstream " + name_ + ": endpoint " + ep.address + ": directory " + dir +
                                         " does not exist");
        }
        e->resolved = resolve(*parsed, &error);
        if (e->resolved.empty())
            throw std::runtime_error("upstream " + name_ + ": endpoint " + ep.address + ": " + error);
        for (std::uint32_t w = 0; w < e->weight; ++w)
            hash_table_.push_back(static_cast<std::uint32_t>(endpoints_.size()));
        endpoints_.push_back(std::move(e));
    }
    if (endpoints_.empty()) throw std::runtime_error("upstream " + name_ + ": no endpoints");
    for (auto& s : slots_) s.current_weight.assign(endpoints_.size(), 0);
}

bool UpstreamPool::eligible(std::size_t i, std::uint64_t tried, std::int64_t now_ns, bool allow_down) const {
    if (tried_bit(tried, i)) return false;
    if (allow_down) return true;
    return endpoints_[i]->health->usable(now_ns);
}

std::size_t UpstreamPool::usable_count() const {
    const std::int64_t now = steady_now_ns();
    std::size_t n = 0;
    for (const auto& e : endpoints_) n += e->health->usable(now) ? 1 : 0;
    return n;
}

std::size_t UpstreamPool::pick(std::size_t loop, std::uint64_t client_ip_hash, std::uint64_t tried) {
    const std::int64_t now = steady_now_ns();
    // Pass 0: usable endpoints not tried yet; pass 1: usable ones again (more attempts than
    // usable endpoints). Nothing usable: when_all_down rejects, or passes 2 and 3 do the same
    // over every endpoint (Envoy's panic mode: better some connections than none).
    for (int pass = 0; pass < 4; ++pass) {
        bool allow_down = pass >= 2;
        std::uint64_t t = pass % 2 == 1 ? 0 : tried;
        if (pass == 2) {
            const bool reject = options_.when_all_down == WhenAllDown::reject;
            if (metrics && metrics->all_down[reject ? 1 : 0]) metrics->all_down[reject ? 1 : 0]->inc(loop);
            if (!all_down_.load(std::memory_order_relaxed) && !all_down_.exchange(true, std::memory_order_relaxed))
                spdlog::warn("upstream {}: no endpoint is healthy; {} (when_all_down: {})", name_,
                             reject ? "rejecting new connections" : "balancing new connections over all of them",
                             to_string(options_.when_all_down));
            if (reject) return kNone;
        }
        std::size_t found = SIZE_MAX;
        switch (options_.balancer) {
            case BalancePolicy::round_robin: found = pick_round_robin(loop, t, now, allow_down); break;
            case BalancePolicy::source_addr_hash:
                found = client_ip_hash ? pick_hash(client_ip_hash, t, now, allow_down)
                                       : pick_round_robin(loop, t, now, allow_down);
                break;
            case BalancePolicy::least_connections: found = pick_least(loop, t, now, allow_down); break;
        }
        if (found != SIZE_MAX) {
            if (pass < 2 && all_down_.load(std::memory_order_relaxed) &&
                all_down_.exchange(false, std::memory_order_relaxed))
                spdlog::info("upstream {}: an endpoint is healthy again; new connections go to healthy endpoints",
                             name_);
            return found;
        }
    }
    return 0;
}

std::size_t UpstreamPool::pick_round_robin(std::size_t loop, std::uint64_t tried, std::int64_t now, bool allow_down) {
    // nginx's smooth weighted round-robin: add each weight, take the largest, subtract the total.
    auto& cw = slots_[loop % slots_.size()].current_weight;
    std::int64_t total = 0;
    std::size_t best = SIZE_MAX;
    for (std::size_t i = 0; i < endpoints_.size(); ++i) {
        if (!eligible(i, tried, now, allow_down)) continue;
        cw[i] += endpoints_[i]->weight;
        total += endpoints_[i]->weight;
        if (best == SIZE_MAX || cw[i] > cw[best]) best = i;
    }
    if (best != SIZE_MAX) cw[best] -= total;
    return best;
}

std::size_t UpstreamPool::pick_hash(std::uint64_t hash, std::uint64_t tried, std::int64_t now, bool allow_down) {
    // Walk the weighted table from the client's slot: the first eligible entry wins, so a
    // client sticks to one endpoint while it is up and moves deterministically when it is not.
    const std::size_t n = hash_table_.size();
    for (std::size_t k = 0; k < n; ++k) {
        std::size_t i = hash_table_[(hash + k) % n];
        if (eligible(i, tried, now, allow_down)) return i;
    }
    return SIZE_MAX;
}

std::size_t UpstreamPool::pick_least(std::size_t loop, std::uint64_t tried, std::int64_t now, bool allow_down) {
    auto& slot = slots_[loop % slots_.size()];
    const std::size_t n = endpoints_.size();
    std::size_t start = slot.rotate++ % n;
    std::size_t best = SIZE_MAX;
    // Compare active/weight without division: a_i * w_best < a_best * w_i.
    for (std::size_t k = 0; k < n; ++k) {
        std::size_t i = (start + k) % n;
        if (!eligible(i, tried, now, allow_down)) continue;
        if (best == SIZE_MAX) {
            best = i;
            continue;
        }
        auto ai = endpoints_[i]->active.load(std::memory_order_relaxed);
        auto ab = endpoints_[best]->active.load(std::memory_order_relaxed);
        if (ai * endpoints_[best]->weight < ab * endpoints_[i]->weight) best = i;
    }
    return best;
}

void UpstreamPool::report_failure(std::size_t i, Attempt attempt) {
    auto& e = *endpoints_[i];
    EndpointHealth& h = *e.health;
    const auto failures = h.consecutive_failures.fetch_add(1, std::memory_order_relaxed) + 1;
    if (options_.max_fails == 0 || failures < options_.max_fails) return;
    // As nginx: out of rotation for fail_timeout, then one connection may try it again; a
    // failure then ejects it again at once (the count stays at or above max_fails until a
    // success). Two loops failing together eject it once: the exchange decides who logs.
    const std::int64_t now = steady_now_ns();
    std::int64_t until = h.ejected_until_ns.load(std::memory_order_relaxed);
    if (until > now) return;
    const std::int64_t next = now + std::chrono::duration_cast<std::chrono::nanoseconds>(options_.fail_timeout).count();
    if (!h.ejected_until_ns.compare_exchange_strong(until, next, std::memory_order_relaxed)) return;
    h.count(EjectionCause::max_fails);
    spdlog::warn("upstream {}: endpoint {} ejected for {} ms after {} consecutive {} (max_fails {}); "
                 "{} of {} endpoint(s) usable",
                 name_, e.label, options_.fail_timeout.count(), failures,
                 attempt == Attempt::datagram ? "refusal(s) (ICMP port unreachable)" : "failed connect(s)",
                 options_.max_fails, usable_count(), endpoints_.size());
}

void UpstreamPool::report_success(std::size_t i, Attempt attempt) {
    auto& e = *endpoints_[i];
    EndpointHealth& h = *e.health;
    // Loads first: a success on a healthy endpoint (the usual case) writes nothing shared.
    if (h.consecutive_failures.load(std::memory_order_relaxed) == 0) return;
    const auto failures = h.consecutive_failures.exchange(0, std::memory_order_relaxed);
    if (options_.max_fails == 0 || failures < options_.max_fails) return;
    if (h.ejected_until_ns.exchange(0, std::memory_order_relaxed) != 0)
        spdlog::info("upstream {}: endpoint {} back in rotation: {} after its ejection", name_, e.label,
                     attempt == Attempt::datagram ? "a reply came back" : "a connect succeeded");
}

}  // namespace switchyard
