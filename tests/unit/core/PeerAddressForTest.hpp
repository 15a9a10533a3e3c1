#pragma once
// Peers for the address tests: an IPv4 or IPv6 literal and a port, as accept(2) would report.
#include <arpa/inet.h>

#include <stdexcept>
#include <string>

#include "core/net/PeerAddress.hpp"

namespace switchyard::test {

inline PeerAddress ip_peer(const char* ip, unsigned short port = 40000) {
    PeerAddress p;
    if (inet_pton(AF_INET, ip, &p.addr.in.sin_addr) == 1) {
        p.addr.in.sin_family = AF_INET;
        p.addr.in.sin_port = htons(port);
    } else if (inet_pton(AF_INET6, ip, &p.addr.in6.sin6_addr) == 1) {
        p.addr.in6.sin6_family = AF_INET6;
        p.addr.in6.sin6_port = htons(port);
    } else {
        throw std::invalid_argument(std::string("not an IP address: ") + ip);
    }
    return p;
}

inline PeerAddress unix_peer() {
    PeerAddress p;
    p.addr.family = AF_UNIX;
    return p;
}

}  // namespace switchyard::test
