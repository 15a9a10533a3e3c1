#pragma once
// Hash of a peer's IP address (port excluded) for source-addr-hash balancing.
#include <sys/socket.h>

#include <cstdint>

namespace switchyard {

// 0 means "no address to hash" (unix peers). Never returns 0 for an IP peer.
std::uint64_t hash_peer_ip(const sockaddr* addr, socklen_t len);

// A well mixed 64-bit hash (splitmix64 finaliser).
constexpr std::uint64_t mix64(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

}  // namespace switchyard
