#pragma once
// A connection's peer as accept(2) reported it, small enough (28 bytes) to keep for the
// connection's whole life, so a log line can name the peer even after it reset the socket
// (getpeername then fails). IPv4 and IPv6 peers keep address and port; a unix peer keeps its
// family only (unix clients are almost always unnamed).
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace switchyard {

struct PeerAddress {
    // `{}` initialises a union's first member only: the byte array comes first so that every
    // byte is zero, and two peers with the same address compare equal byte for byte (an IPv4
    // one leaves the tail beyond sockaddr_in at zero; clang left it as it found it).
    union {
        unsigned char bytes[sizeof(sockaddr_in6)];
        sa_family_t family;
        sockaddr_in in;
        sockaddr_in6 in6;
    } addr{};

    // Any thread: from accept(2)'s address; anything but IPv4/IPv6 counts as a unix peer.
    static PeerAddress from(const sockaddr* peer, socklen_t length);
    int family() const { return addr.family; }
    // Any thread: hash_peer_ip of the address (0 for a unix peer), for source-addr-hash.
    std::uint64_t ip_hash() const;
    // Any thread: "127.0.0.1:45884", "[::1]:45884" or "unix:(unnamed)".
    std::string to_string() const;
};

}  // namespace switchyard
