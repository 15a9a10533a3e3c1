#include "core/proxy/ListenerLogs.hpp"

#include <spdlog/spdlog.h>

namespace switchyard {
namespace {

struct EventKind {
    spdlog::level::level_enum level;
    const char* what;  // plural noun phrase
};

constexpr EventKind kKinds[] = {
    {spdlog::level::warn, "connections rejected (max_connections)"},
    {spdlog::level::warn, "connections denied (access rules)"},
    {spdlog::level::warn, "connections rejected (rate_limit)"},
    {spdlog::level::warn, "connections rejected (max_connections_per_ip)"},
    {spdlog::level::warn, "connections closed for their PROXY protocol header"},
    {spdlog::level::info, "connections closed (first_byte_timeout)"},
    {spdlog::level::err, "accept errors"},
    {spdlog::level::warn, "clients closed with their upstream unavailable"},
    {spdlog::level::warn, "codec errors"},
    {spdlog::level::info, "idle-timeout closes"},
    {spdlog::level::warn, "datagrams dropped (access rules)"},
    {spdlog::level::warn, "datagrams dropped (rate_limit)"},
    {spdlog::level::warn, "datagrams dropped (max_sessions)"},
    {spdlog::level::warn, "datagrams dropped (max_sessions_per_ip)"},
};
static_assert(std::size(kKinds) == static_cast<std::size_t>(ListenerEvent::count));

}  // namespace

bool ListenerLogs::allow(ListenerEvent event, std::string* note) {
    const int i = static_cast<int>(event);
    std::uint64_t suppressed = 0;
    if (!limiters_[i].allow(&suppressed)) return false;
    *note = suppressed ? fmt::format(" ({} more {} not logged)", suppressed, kKinds[i].what) : std::string();
    return true;
}

void ListenerLogs::summarise_ended_bursts(const std::string& listener) {
    for (int i = 0; i < static_cast<int>(ListenerEvent::count); ++i) {
        std::int64_t held_for_ns = 0;
        std::uint64_t n = limiters_[i].take_ended_burst(&held_for_ns);
        if (n == 0) continue;
        // Whole seconds, rounded up: "in the last second", "in the last 3 seconds".
        std::int64_t seconds = (held_for_ns + 999'999'999) / 1'000'000'000;
        spdlog::log(kKinds[i].level, "listener {}: ...and {} more {} in the last {}", listener, n, kKinds[i].what,
                    seconds <= 1 ? std::string("second") : fmt::format("{} seconds", seconds));
    }
}

}  // namespace switchyard
