#include "core/net/PeerAddress.hpp"

#include <cstring>

#include "core/net/AddressHash.hpp"
#include "core/net/SocketAddress.hpp"

namespace switchyard {

PeerAddress PeerAddress::from(const sockaddr* peer, socklen_t length) {
    PeerAddress p;
    if (peer->sa_family == AF_INET && length >= static_cast<socklen_t>(sizeof(sockaddr_in)))
        std::memcpy(&p.addr.in, peer, sizeof(sockaddr_in));
    else if (peer->sa_family == AF_INET6 && length >= static_cast<socklen_t>(sizeof(sockaddr_in6)))
        std::memcpy(&p.addr.in6, peer, sizeof(sockaddr_in6));
    else
        p.addr.family = AF_UNIX;
    return p;
}

std::uint64_t PeerAddress::ip_hash() const {
    return hash_peer_ip(reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
}

std::string PeerAddress::to_string() const {
    SocketAddress sa;
    std::memcpy(&sa.storage, &addr, sizeof addr);
    sa.length = family() == AF_INET    ? sizeof(sockaddr_in)
                : family() == AF_INET6 ? sizeof(sockaddr_in6)
                                       : sizeof(sa_family_t);  // an unnamed unix peer
    return sa.to_string();
}

}  // namespace switchyard
