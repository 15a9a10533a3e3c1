#pragma once
// A datagram peer's IPv4 or IPv6 address and port in 32 bytes, comparable and hashable: the key
// of a loop's session table. Plain data; any thread.
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace switchyard {

struct DatagramPeer {
    union {
        sockaddr sa;
        sockaddr_in in;
        sockaddr_in6 in6;
    } addr{};
    socklen_t length = 0;  // 0 = no address

    // Copies an AF_INET or AF_INET6 address; anything else gives an empty DatagramPeer.
    static DatagramPeer from(const sockaddr* sa, socklen_t len);

    const sockaddr* data() const { return &addr.sa; }
    int family() const { return addr.sa.sa_family; }
    bool empty() const { return length == 0; }
    // Same family, address, port (and IPv6 scope); the flow label a datagram carried is ignored.
    bool operator==(const DatagramPeer& other) const;
    // Hash of address and port: the session key.
    std::uint64_t hash() const;
    // Hash of the address alone (hash_peer_ip): what source-addr-hash balancers take.
    std::uint64_t ip_hash() const;
    std::string to_string() const;  // "1.2.3.4:53", "[::1]:53"
};

struct DatagramPeerHash {
    std::size_t operator()(const DatagramPeer& a) const { return static_cast<std::size_t>(a.hash()); }
};

// The local address a datagram was sent to (IP_PKTINFO / IPV6_PKTINFO), so the reply leaves
// from the address the client used when the listener is bound to a wildcard address.
struct LocalAddress {
    int family = AF_UNSPEC;  // AF_UNSPEC = unknown: the socket's own address is used
    union {
        in_addr v4;
        in6_addr v6;
    } ip{};
};

}  // namespace switchyard
