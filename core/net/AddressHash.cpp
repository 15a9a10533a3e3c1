#include "core/net/AddressHash.hpp"

#include <netinet/in.h>

#include <cstring>

namespace switchyard {

std::uint64_t hash_peer_ip(const sockaddr* addr, socklen_t len) {
    std::uint64_t h = 0;
    if (addr->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
        auto* in = reinterpret_cast<const sockaddr_in*>(addr);
        h = mix64(in->sin_addr.s_addr);
    } else if (addr->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
        auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
        std::uint64_t a, b;
        std::memcpy(&a, in6->sin6_addr.s6_addr, 8);
        std::memcpy(&b, in6->sin6_addr.s6_addr + 8, 8);
        h = mix64(a ^ mix64(b));
    } else {
        return 0;
    }
    return h == 0 ? 1 : h;
}

}  // namespace switchyard
