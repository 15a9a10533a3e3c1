#pragma once
// The PROXY protocol (HAProxy's doc/proxy-protocol.txt), versions 1 (text) and 2 (binary): the
// header a load balancer in front puts before a connection's first byte to say whom it relays,
// and the header this proxy puts before the bytes it relays to an upstream that expects one.
//
// ProxyHeaderParser reads the bytes a connection has received so far, from its first byte,
// and says: a complete header of N bytes (and what it carries), not enough yet, or not a valid
// header. It is strict as the specification asks: anything that does not match exactly is
// refused, as early as the first byte that cannot belong to a header, so a client that speaks
// the application protocol straight away is turned away at once rather than at the timeout.
// No allocation and no system call: the caller peeks at the socket and hands the bytes in.
#include <cstddef>
#include <cstdint>

#include "core/net/PeerAddress.hpp"

namespace switchyard {

struct ProxyHeader {
    std::uint8_t version = 0;  // 1 or 2
    // No client address to take: v1 UNKNOWN, v2 LOCAL (a balancer's own health check), or a v2
    // family with no IP address (AF_UNSPEC, AF_UNIX). The connection's own addresses stand.
    bool local = true;
    PeerAddress source;       // when !local: the original client
    PeerAddress destination;  // when !local: the address that client connected to
};

class ProxyHeaderParser {
public:
    enum class Status : std::uint8_t { need_more, complete, invalid };
    struct Result {
        Status status = Status::need_more;
        std::size_t length = 0;     // complete: the header's bytes (the application's data follows)
        const char* error = "";     // invalid: why, a static sentence
    };

    // A v1 line is at most 107 bytes with its CRLF (the specification's worst case).
    static constexpr std::size_t kMaxV1Length = 107;
    // A v2 header is 16 bytes and the length it announces: addresses, then TLVs (the balancer's
    // extras: AWS and Azure endpoint ids, TLS details). Longer ones are refused.
    static constexpr std::size_t kMaxLength = 1024;
    // Enough bytes to decide on any header: what a caller should peek at.
    static constexpr std::size_t kPeekSize = kMaxLength;

    // Any thread (no state). `data` holds the first `size` bytes of the connection. On
    // complete, *header receives what the header says.
    static Result parse(const std::uint8_t* data, std::size_t size, ProxyHeader* header);

private:
    static Result parse_v1(const std::uint8_t* data, std::size_t size, ProxyHeader* header);
    static Result parse_v2(const std::uint8_t* data, std::size_t size, ProxyHeader* header);
};

// Writing the header for an upstream (send_proxy): `source` is the client, `destination` the
// address it connected to. Both IPv4 or both IPv6 give TCP4/TCP6 (v1) or an AF_INET/AF_INET6
// PROXY block (v2); one of each is sent as IPv6 with the IPv4 side mapped (::ffff:a.b.c.d);
// anything else (a unix client) gives "PROXY UNKNOWN" (v1) or a LOCAL header (v2), as HAProxy
// sends them. Returns the bytes written; `out` needs kMaxV1Length (v1) or kMaxV2WriteLength (v2).
constexpr std::size_t kMaxV2WriteLength = 16 + 36;
std::size_t write_proxy_header_v1(const PeerAddress& source, const PeerAddress& destination, char* out);
std::size_t write_proxy_header_v2(const PeerAddress& source, const PeerAddress& destination, std::uint8_t* out);

}  // namespace switchyard
