#include "core/net/ProxyHeader.hpp"

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>
#include <string_view>

namespace switchyard {
namespace {

using Result = ProxyHeaderParser::Result;
using Status = ProxyHeaderParser::Status;

constexpr std::uint8_t kV2Signature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr std::string_view kV1Signature = "PROXY ";
// The specification's families and transports (the high and low nibble of byte 14).
constexpr std::uint8_t kFamilyUnspec = 0, kFamilyInet = 1, kFamilyInet6 = 2, kFamilyUnix = 3;
constexpr std::uint8_t kTransportUnspec = 0, kTransportStream = 1, kTransportDgram = 2;

Result invalid(const char* why) { return {Status::invalid, 0, why}; }
Result need_more() { return {Status::need_more, 0, ""}; }
Result complete(std::size_t length) { return {Status::complete, length, ""}; }

// Decimal 0..max, no sign, no leading zero (the specification forbids them: octal confusion).
bool strict_decimal(std::string_view s, unsigned max, unsigned* out) {
    if (s.empty() || s.size() > 5 || (s.size() > 1 && s[0] == '0')) return false;
    unsigned v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v > max) return false;
    *out = v;
    return true;
}

// Exactly four decimal numbers 0-255 with single dots, no leading zeros.
bool strict_ipv4(std::string_view s, in_addr* out) {
    std::uint8_t b[4];
    for (int i = 0; i < 4; ++i) {
        const std::size_t dot = i < 3 ? s.find('.') : s.size();
        if (dot == std::string_view::npos) return false;
        unsigned v = 0;
        if (dot > 3 || !strict_decimal(s.substr(0, dot), 255, &v)) return false;
        b[i] = static_cast<std::uint8_t>(v);
        s.remove_prefix(i < 3 ? dot + 1 : dot);
    }
    std::memcpy(out, b, 4);
    return true;
}

bool ipv6_text(std::string_view s, in6_addr* out) {
    char text[INET6_ADDRSTRLEN];
    if (s.empty() || s.size() >= sizeof text || s.find(':') == std::string_view::npos) return false;
    std::memcpy(text, s.data(), s.size());
    text[s.size()] = '\0';
    return inet_pton(AF_INET6, text, out) == 1;
}

// Splits off the next space-separated token; false when none is left or it is empty.
bool next_token(std::string_view* rest, std::string_view* token) {
    if (rest->empty()) return false;
    const std::size_t space = rest->find(' ');
    *token = rest->substr(0, space);
    *rest = space == std::string_view::npos ? std::string_view{} : rest->substr(space + 1);
    // "a  b" (two spaces) yields an empty token; "a " a trailing empty one: both malformed.
    return !token->empty() && (space == std::string_view::npos || !rest->empty());
}

std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }

// An IP peer as 16 bytes of IPv6 (IPv4 mapped) and its port in network order.
bool as_ipv6(const PeerAddress& p, in6_addr* addr, std::uint16_t* port) {
    if (p.family() == AF_INET6) {
        *addr = p.addr.in6.sin6_addr;
        *port = p.addr.in6.sin6_port;
        return true;
    }
    if (p.family() != AF_INET) return false;
    std::memset(addr, 0, sizeof *addr);
    addr->s6_addr[10] = addr->s6_addr[11] = 0xff;
    std::memcpy(addr->s6_addr + 12, &p.addr.in.sin_addr, 4);
    *port = p.addr.in.sin_port;
    return true;
}

// An IPv4 or IPv6 peer from its address and port bytes, both in network order.
void set_ip(PeerAddress* p, int family, const std::uint8_t* address, const std::uint8_t* port) {
    if (family == AF_INET) {
        p->addr.in.sin_family = AF_INET;
        std::memcpy(&p->addr.in.sin_addr, address, 4);
        std::memcpy(&p->addr.in.sin_port, port, 2);
    } else {
        p->addr.in6.sin6_family = AF_INET6;
        std::memcpy(&p->addr.in6.sin6_addr, address, 16);
        std::memcpy(&p->addr.in6.sin6_port, port, 2);
    }
}

bool is_ip(const PeerAddress& p) { return p.family() == AF_INET || p.family() == AF_INET6; }

}  // namespace

Result ProxyHeaderParser::parse(const std::uint8_t* data, std::size_t size, ProxyHeader* header) {
    if (size == 0) return need_more();
    if (data[0] == kV1Signature[0]) return parse_v1(data, size, header);
    if (data[0] == kV2Signature[0]) return parse_v2(data, size, header);
    return invalid("the connection does not start with a PROXY protocol header");
}

Result ProxyHeaderParser::parse_v1(const std::uint8_t* data, std::size_t size, ProxyHeader* header) {
    const std::size_t signature = std::min(size, kV1Signature.size());
    if (std::memcmp(data, kV1Signature.data(), signature) != 0)
        return invalid("the connection does not start with a PROXY protocol header");
    // The CR of the CRLF can stand at index 105 at the latest (a 107-byte line).
    std::size_t end = 0;
    for (std::size_t i = signature;; ++i) {
        if (i >= size) return size >= kMaxV1Length ? invalid("no CRLF within the 107 bytes of a v1 header")
                                                   : need_more();
        if (i >= kMaxV1Length - 1) return invalid("no CRLF within the 107 bytes of a v1 header");
        const std::uint8_t c = data[i];
        if (c == '\n') return invalid("a v1 header line ends in LF without CR");
        if (c == '\r') {
            if (i + 1 >= size) return need_more();
            if (data[i + 1] != '\n') return invalid("a CR not followed by LF in a v1 header");
            end = i;
            break;
        }
        if (c < 0x20 || c > 0x7e) return invalid("a byte that is not printable ASCII in a v1 header");
    }
    std::string_view rest(reinterpret_cast<const char*>(data) + kV1Signature.size(), end - kV1Signature.size());
    const std::size_t length = end + 2;
    std::string_view protocol;
    if (rest == "UNKNOWN" || rest.substr(0, 8) == "UNKNOWN ") {
        // Whatever follows UNKNOWN is to be ignored: the connection's own addresses stand.
        *header = ProxyHeader{1, true, {}, {}};
        return complete(length);
    }
    if (!next_token(&rest, &protocol) || (protocol != "TCP4" && protocol != "TCP6"))
        return invalid("a v1 header's protocol is not TCP4, TCP6 or UNKNOWN");
    std::string_view src, dst, sport, dport;
    if (!next_token(&rest, &src) || !next_token(&rest, &dst) || !next_token(&rest, &sport) ||
        !next_token(&rest, &dport) || !rest.empty())
        return invalid("a v1 header does not have exactly two addresses and two ports");
    unsigned sp = 0, dp = 0;
    if (!strict_decimal(sport, 65535, &sp) || !strict_decimal(dport, 65535, &dp))
        return invalid("a v1 header's port is not a decimal 0-65535 without leading zeros");
    ProxyHeader h{1, false, {}, {}};
    if (protocol == "TCP4") {
        h.source.addr.in.sin_family = h.destination.addr.in.sin_family = AF_INET;
        if (!strict_ipv4(src, &h.source.addr.in.sin_addr) || !strict_ipv4(dst, &h.destination.addr.in.sin_addr))
            return invalid("a v1 TCP4 header's address is not a dotted IPv4 address without leading zeros");
        h.source.addr.in.sin_port = htons(static_cast<std::uint16_t>(sp));
        h.destination.addr.in.sin_port = htons(static_cast<std::uint16_t>(dp));
    } else {
        h.source.addr.in6.sin6_family = h.destination.addr.in6.sin6_family = AF_INET6;
        if (!ipv6_text(src, &h.source.addr.in6.sin6_addr) || !ipv6_text(dst, &h.destination.addr.in6.sin6_addr))
            return invalid("a v1 TCP6 header's address is not an IPv6 address");
        h.source.addr.in6.sin6_port = htons(static_cast<std::uint16_t>(sp));
        h.destination.addr.in6.sin6_port = htons(static_cast<std::uint16_t>(dp));
    }
    *header = h;
    return complete(length);
}

Result ProxyHeaderParser::parse_v2(const std::uint8_t* data, std::size_t size, ProxyHeader* header) {
    if (std::memcmp(data, kV2Signature, std::min(size, sizeof kV2Signature)) != 0)
        return invalid("the connection does not start with a PROXY protocol header");
    if (size < 16) return need_more();
    const std::uint8_t version = data[12] >> 4, command = data[12] & 0x0f;
    if (version != 2) return invalid("a binary PROXY header of a version other than 2");
    if (command > 1) return invalid("a v2 header's command is neither LOCAL nor PROXY");
    const std::uint8_t family = data[13] >> 4, transport = data[13] & 0x0f;
    if (family > kFamilyUnix) return invalid("a v2 header's address family is not one the specification defines");
    if (transport > kTransportDgram) return invalid("a v2 header's transport is not one the specification defines");
    const std::size_t length = 16 + std::size_t{be16(data + 14)};
    if (length > kMaxLength) return invalid("a v2 header longer than the 1024 bytes accepted");
    if (size < length) return need_more();
    if (command == 0) {  // LOCAL: the balancer speaking for itself; its block is skipped unread
        *header = ProxyHeader{2, true, {}, {}};
        return complete(length);
    }
    std::size_t address_length = 0;
    switch (family) {
        case kFamilyInet: address_length = 12; break;
        case kFamilyInet6: address_length = 36; break;
        case kFamilyUnix: address_length = 216; break;
        default: break;
    }
    if (length - 16 < address_length) return invalid("a v2 header too short for the addresses of its family");
    if (transport == kTransportDgram && family != kFamilyUnspec)
        return invalid("a v2 header describes a datagram flow, not a stream");
    // What follows the addresses are TLVs (type, 2-byte length, value): they must fill the rest
    // exactly. (Unknown types are skipped, as the specification asks.)
    if (family != kFamilyUnspec) {
        std::size_t at = 16 + address_length;
        while (at < length) {
            if (length - at < 3 || length - at - 3 < be16(data + at + 1))
                return invalid("a v2 header's TLVs do not fill its announced length exactly");
            at += 3 + be16(data + at + 1);
        }
    }
    ProxyHeader h{2, true, {}, {}};
    const std::uint8_t* a = data + 16;
    if (transport == kTransportStream && (family == kFamilyInet || family == kFamilyInet6)) {
        // Source address, destination address, source port, destination port.
        const std::size_t n = family == kFamilyInet ? 4 : 16;
        const int af = family == kFamilyInet ? AF_INET : AF_INET6;
        h.local = false;
        set_ip(&h.source, af, a, a + 2 * n);
        set_ip(&h.destination, af, a + n, a + 2 * n + 2);
    }
    // AF_UNSPEC, an unspecified transport or AF_UNIX: no IP address to take; the connection's
    // own addresses stand (the specification lets a receiver accept these).
    *header = h;
    return complete(length);
}

std::size_t write_proxy_header_v1(const PeerAddress& source, const PeerAddress& destination, char* out) {
    constexpr char kUnknown[] = "PROXY UNKNOWN\r\n";
    if (!is_ip(source) || !is_ip(destination)) {
        std::memcpy(out, kUnknown, sizeof kUnknown - 1);
        return sizeof kUnknown - 1;
    }
    char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
    unsigned sport = 0, dport = 0;
    const char* protocol = "TCP4";
    if (source.family() == AF_INET && destination.family() == AF_INET) {
        inet_ntop(AF_INET, &source.addr.in.sin_addr, src, sizeof src);
        inet_ntop(AF_INET, &destination.addr.in.sin_addr, dst, sizeof dst);
        sport = ntohs(source.addr.in.sin_port);
        dport = ntohs(destination.addr.in.sin_port);
    } else {
        protocol = "TCP6";
        in6_addr s{}, d{};
        std::uint16_t sp = 0, dp = 0;
        as_ipv6(source, &s, &sp);
        as_ipv6(destination, &d, &dp);
        inet_ntop(AF_INET6, &s, src, sizeof src);
        inet_ntop(AF_INET6, &d, dst, sizeof dst);
        sport = ntohs(sp);
        dport = ntohs(dp);
    }
    const int n = std::snprintf(out, ProxyHeaderParser::kMaxV1Length + 1, "PROXY %s %s %s %u %u\r\n", protocol, src,
                                dst, sport, dport);
    return n > 0 ? static_cast<std::size_t>(n) : 0;
}

std::size_t write_proxy_header_v2(const PeerAddress& source, const PeerAddress& destination, std::uint8_t* out) {
    std::memcpy(out, kV2Signature, sizeof kV2Signature);
    std::uint8_t* block = out + 16;
    std::size_t length = 0;
    if (source.family() == AF_INET && destination.family() == AF_INET) {
        out[12] = 0x21;  // version 2, PROXY
        out[13] = kFamilyInet << 4 | kTransportStream;
        std::memcpy(block, &source.addr.in.sin_addr, 4);
        std::memcpy(block + 4, &destination.addr.in.sin_addr, 4);
        std::memcpy(block + 8, &source.addr.in.sin_port, 2);
        std::memcpy(block + 10, &destination.addr.in.sin_port, 2);
        length = 12;
    } else if (is_ip(source) && is_ip(destination)) {
        out[12] = 0x21;
        out[13] = kFamilyInet6 << 4 | kTransportStream;
        in6_addr s{}, d{};
        std::uint16_t sp = 0, dp = 0;
        as_ipv6(source, &s, &sp);
        as_ipv6(destination, &d, &dp);
        std::memcpy(block, &s, 16);
        std::memcpy(block + 16, &d, 16);
        std::memcpy(block + 32, &sp, 2);
        std::memcpy(block + 34, &dp, 2);
        length = 36;
    } else {
        out[12] = 0x20;  // version 2, LOCAL: nothing to say about the client
        out[13] = kFamilyUnspec << 4 | kTransportUnspec;
    }
    out[14] = static_cast<std::uint8_t>(length >> 8);
    out[15] = static_cast<std::uint8_t>(length & 0xff);
    return 16 + length;
}

}  // namespace switchyard
