#pragma once
// An IP network as written in access rules and trusted_sources: "10.0.0.0/8",
// "2001:db8::/32", a single address ("192.0.2.7" is 192.0.2.7/32, "::1" is ::1/128), or "all".
// Plain data (no allocation), so listener options can hold a list of them and the accept path
// can test a client against them without a system call.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace switchyard {

struct PeerAddress;

struct Cidr {
    std::uint8_t family = 0;  // AF_INET or AF_INET6; 0 = every address ("all")
    std::uint8_t prefix = 0;  // leading bits that must match
    std::array<std::uint8_t, 16> bytes{};  // the network; IPv4 in the first 4 bytes

    // Any thread. Unix peers (no address) match only "all". An IPv4-mapped IPv6 peer
    // (::ffff:192.0.2.7) is matched as the IPv4 address it carries.
    bool contains(const PeerAddress& peer) const;
    // "10.0.0.0/8", "2001:db8::/32", "all".
    std::string to_string() const;
    bool operator==(const Cidr&) const = default;
};

// Parses a network; nullopt with *error set to a sentence when it is not one. Host bits set
// below the prefix ("10.1.2.3/8") are an error naming the network meant ("10.0.0.0/8"): a rule
// that covers more than it says is a mistake to point out, not to guess about.
std::optional<Cidr> parse_cidr(std::string_view text, std::string* error);

}  // namespace switchyard
