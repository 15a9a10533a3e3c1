#include "core/proxy/datagram/DatagramPeer.hpp"

#include <cstring>

#include "core/net/AddressHash.hpp"
#include "core/net/SocketAddress.hpp"

namespace switchyard {

DatagramPeer DatagramPeer::from(const sockaddr* sa, socklen_t len) {
    DatagramPeer p;
    if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
        std::memcpy(&p.addr.in, sa, sizeof(sockaddr_in));
        p.length = sizeof(sockaddr_in);
    } else if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
        std::memcpy(&p.addr.in6, sa, sizeof(sockaddr_in6));
        p.addr.in6.sin6_flowinfo = 0;
        p.length = sizeof(sockaddr_in6);
    }
    return p;
}

bool DatagramPeer::operator==(const DatagramPeer& o) const {
    if (family() != o.family()) return false;
    if (family() == AF_INET)
        return addr.in.sin_port == o.addr.in.sin_port && addr.in.sin_addr.s_addr == o.addr.in.sin_addr.s_addr;
    if (family() == AF_INET6)
        return addr.in6.sin6_port == o.addr.in6.sin6_port && addr.in6.sin6_scope_id == o.addr.in6.sin6_scope_id &&
               std::memcmp(&addr.in6.sin6_addr, &o.addr.in6.sin6_addr, sizeof(in6_addr)) == 0;
    return length == o.length;
}

std::uint64_t DatagramPeer::hash() const {
    if (family() == AF_INET)
        return mix64((std::uint64_t{addr.in.sin_addr.s_addr} << 16) ^ addr.in.sin_port);
    if (family() == AF_INET6) {
        std::uint64_t a, b;
        std::memcpy(&a, addr.in6.sin6_addr.s6_addr, 8);
        std::memcpy(&b, addr.in6.sin6_addr.s6_addr + 8, 8);
        return mix64(a ^ mix64(b ^ addr.in6.sin6_port));
    }
    return 0;
}

std::uint64_t DatagramPeer::ip_hash() const { return empty() ? 0 : hash_peer_ip(data(), length); }

std::string DatagramPeer::to_string() const {
    SocketAddress sa;
    std::memcpy(&sa.storage, &addr, sizeof addr);
    sa.length = length;
    return sa.to_string();
}

}  // namespace switchyard
