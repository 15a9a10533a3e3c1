#pragma once
// Open connections per client IP address, for max_connections_per_ip (and a udp listener's
// sessions, for max_sessions_per_ip): shared by every loop (one client's connections land on
// any of them) and by every configuration generation of a listener. Touched when a connection
// (session) is admitted and when it closes, never per byte (datagram): a few mutex-striped
// hash maps, each lock held for one lookup. An address leaves its map when its last connection
// closes, so the maps hold at most one entry per open connection.
// Any thread.
#include <array>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "core/net/PeerAddress.hpp"

namespace switchyard {

class PerIpConnections {
public:
    // Counts one more connection from `client`'s IP unless it already has `limit` open; a peer
    // without an IP address (a unix client) is never counted or refused.
    bool try_acquire(const PeerAddress& client, std::uint32_t limit);
    // A connection try_acquire admitted has closed.
    void release(const PeerAddress& client);
    // Open connections from this client's IP (0 for a unix client); for tests and logs.
    std::uint32_t open(const PeerAddress& client) const;

private:
    struct Key {
        std::uint64_t high = 0, low = 0;  // IPv6 bytes; IPv4 as ::ffff:a.b.c.d
        bool operator==(const Key&) const = default;
    };
    struct KeyHash {
        std::size_t operator()(const Key& k) const;
    };
    struct alignas(64) Stripe {
        mutable std::mutex mutex;
        std::unordered_map<Key, std::uint32_t, KeyHash> open;
    };
    static bool key_of(const PeerAddress& client, Key* key);
    Stripe& stripe(const Key& k) const { return stripes_[KeyHash{}(k) % stripes_.size()]; }

    mutable std::array<Stripe, 16> stripes_;
};

}  // namespace switchyard
