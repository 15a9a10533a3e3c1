#include "core/net/Cidr.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>

#include "core/net/PeerAddress.hpp"

namespace switchyard {
namespace {

std::optional<Cidr> fail(std::string* error, std::string message) {
    if (error) *error = std::move(message);
    return std::nullopt;
}

// The peer as (family, 16 bytes), with an IPv4-mapped IPv6 address turned back into IPv4.
bool peer_bytes(const PeerAddress& peer, int* family, std::uint8_t out[16]) {
    if (peer.family() == AF_INET) {
        std::memcpy(out, &peer.addr.in.sin_addr, 4);
        *family = AF_INET;
        return true;
    }
    if (peer.family() != AF_INET6) return false;
    const std::uint8_t* a = peer.addr.in6.sin6_addr.s6_addr;
    static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(a, kMapped, 12) == 0) {
        std::memcpy(out, a + 12, 4);
        *family = AF_INET;
    } else {
        std::memcpy(out, a, 16);
        *family = AF_INET6;
    }
    return true;
}

bool prefix_matches(const std::uint8_t* a, const std::uint8_t* b, unsigned bits) {
    const unsigned whole = bits / 8, rest = bits % 8;
    if (std::memcmp(a, b, whole) != 0) return false;
    if (rest == 0) return true;
    const std::uint8_t mask = static_cast<std::uint8_t>(0xff << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

}  // namespace

bool Cidr::contains(const PeerAddress& peer) const {
    if (family == 0) return true;
    int peer_family = 0;
    std::uint8_t b[16];
    if (!peer_bytes(peer, &peer_family, b) || peer_family != family) return false;
    return prefix_matches(bytes.data(), b, prefix);
}

std::string Cidr::to_string() const {
    if (family == 0) return "all";
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(family, bytes.data(), buf, sizeof buf);
    return std::string(buf) + "/" + std::to_string(prefix);
}

std::optional<Cidr> parse_cidr(std::string_view text, std::string* error) {
    if (text == "all") return Cidr{};
    const auto slash = text.find('/');
    const std::string host(text.substr(0, slash));
    Cidr c;
    unsigned max_prefix = 0;
    if (host.find(':') != std::string::npos) {
        if (inet_pton(AF_INET6, host.c_str(), c.bytes.data()) != 1)
            return fail(error, "'" + host + "' is not an IPv6 address");
        c.family = AF_INET6;
        max_prefix = 128;
    } else {
        if (inet_pton(AF_INET, host.c_str(), c.bytes.data()) != 1)
            return fail(error, "'" + std::string(text) + "' is not an IP network (expected e.g. 10.0.0.0/8, "
                               "\"2001:db8::/32\", 192.0.2.7 or all)");
        c.family = AF_INET;
        max_prefix = 32;
    }
    unsigned prefix = max_prefix;
    if (slash != std::string_view::npos) {
        const std::string_view digits = text.substr(slash + 1);
        auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
        if (digits.empty() || ec != std::errc{} || ptr != digits.data() + digits.size() || prefix > max_prefix)
            return fail(error, "bad prefix length '/" + std::string(digits) + "' in '" + std::string(text) +
                                   "' (expected 0 to " + std::to_string(max_prefix) + ")");
    }
    c.prefix = static_cast<std::uint8_t>(prefix);
    // Host bits below the prefix: say which network that covers instead of silently widening.
    Cidr network = c;
    for (unsigned bit = prefix; bit < max_prefix; ++bit)
        network.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
    if (network.bytes != c.bytes)
        return fail(error, "'" + std::string(text) + "' has bits set below its /" + std::to_string(prefix) +
                               " prefix (did you mean " + network.to_string() + "?)");
    return c;
}

}  // namespace switchyard
