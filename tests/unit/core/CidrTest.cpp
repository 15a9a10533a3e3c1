#include <catch2/catch.hpp>

#include "PeerAddressForTest.hpp"

#include <arpa/inet.h>

#include "core/net/Cidr.hpp"

using namespace switchyard;
using switchyard::test::ip_peer;

namespace {

Cidr cidr(const char* text) {
    std::string error;
    auto c = parse_cidr(text, &error);
    INFO(error);
    REQUIRE(c);
    return *c;
}

std::string error_of(const char* text) {
    std::string error;
    CHECK_FALSE(parse_cidr(text, &error));
    return error;
}

}  // namespace

TEST_CASE("parse_cidr reads IPv4 and IPv6 networks, single addresses and all", "[net][cidr]") {
    CHECK(cidr("10.0.0.0/8").to_string() == "10.0.0.0/8");
    CHECK(cidr("192.0.2.7").to_string() == "192.0.2.7/32");
    CHECK(cidr("0.0.0.0/0").to_string() == "0.0.0.0/0");
    CHECK(cidr("2001:db8::/32").to_string() == "2001:db8::/32");
    CHECK(cidr("::1").to_string() == "::1/128");
    CHECK(cidr("all").family == 0);
    CHECK(cidr("all").to_string() == "all");
}

TEST_CASE("parse_cidr refuses what is not a network, with the reason", "[net][cidr]") {
    CHECK(error_of("10.0.0.0/33") == "bad prefix length '/33' in '10.0.0.0/33' (expected 0 to 32)");
    CHECK(error_of("2001:db8::/129") == "bad prefix length '/129' in '2001:db8::/129' (expected 0 to 128)");
    CHECK(error_of("10.0.0.0/") == "bad prefix length '/' in '10.0.0.0/' (expected 0 to 32)");
    CHECK(error_of("10.0.0.0/8x") == "bad prefix length '/8x' in '10.0.0.0/8x' (expected 0 to 32)");
    CHECK(error_of("example.com") ==
          "'example.com' is not an IP network (expected e.g. 10.0.0.0/8, \"2001:db8::/32\", 192.0.2.7 or all)");
    CHECK(error_of("10.1/8") ==
          "'10.1/8' is not an IP network (expected e.g. 10.0.0.0/8, \"2001:db8::/32\", 192.0.2.7 or all)");
    CHECK(error_of("2001:db8::zz/32") == "'2001:db8::zz' is not an IPv6 address");
    // Bits below the prefix widen the rule beyond what it says: an error naming the network.
    CHECK(error_of("10.1.2.3/8") == "'10.1.2.3/8' has bits set below its /8 prefix (did you mean 10.0.0.0/8?)");
    CHECK(error_of("2001:db8::1/32") ==
          "'2001:db8::1/32' has bits set below its /32 prefix (did you mean 2001:db8::/32?)");
}

TEST_CASE("a network contains the addresses under its prefix, of its family only", "[net][cidr]") {
    CHECK(cidr("10.0.0.0/8").contains(ip_peer("10.255.1.2")));
    CHECK_FALSE(cidr("10.0.0.0/8").contains(ip_peer("11.0.0.1")));
    CHECK(cidr("192.168.1.128/25").contains(ip_peer("192.168.1.200")));
    CHECK_FALSE(cidr("192.168.1.128/25").contains(ip_peer("192.168.1.127")));
    CHECK(cidr("0.0.0.0/0").contains(ip_peer("203.0.113.9")));
    CHECK_FALSE(cidr("0.0.0.0/0").contains(ip_peer("::1")));
    CHECK(cidr("2001:db8::/32").contains(ip_peer("2001:db8:ffff::1")));
    CHECK_FALSE(cidr("2001:db8::/32").contains(ip_peer("2001:db9::1")));
    CHECK(cidr("::1").contains(ip_peer("::1")));
    CHECK(cidr("all").contains(ip_peer("::1")));
    CHECK(cidr("all").contains(ip_peer("127.0.0.1")));
}

TEST_CASE("an IPv4-mapped IPv6 client is matched as its IPv4 address", "[net][cidr]") {
    CHECK(cidr("10.0.0.0/8").contains(ip_peer("::ffff:10.1.2.3")));
    CHECK_FALSE(cidr("::/0").contains(ip_peer("::ffff:10.1.2.3")));
}

TEST_CASE("a unix client (no address) is in 'all' only", "[net][cidr]") {
    const PeerAddress unix_client = test::unix_peer();
    CHECK(cidr("all").contains(unix_client));
    CHECK_FALSE(cidr("0.0.0.0/0").contains(unix_client));
    CHECK_FALSE(cidr("::/0").contains(unix_client));
}
