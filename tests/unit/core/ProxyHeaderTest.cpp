// The PROXY protocol parser against the specification (HAProxy's doc/proxy-protocol.txt): what
// it accepts, what it refuses and how early, and that the writers produce what it reads.
#include <catch2/catch.hpp>

#include "PeerAddressForTest.hpp"

#include <arpa/inet.h>

#include <string>
#include <vector>

#include "core/net/ProxyHeader.hpp"

using namespace switchyard;
using switchyard::test::ip_peer;
using Status = ProxyHeaderParser::Status;
using Bytes = std::vector<std::uint8_t>;

namespace {

Bytes bytes(std::string_view text) { return Bytes(text.begin(), text.end()); }

ProxyHeaderParser::Result parse(const Bytes& b, ProxyHeader* h = nullptr) {
    ProxyHeader scratch;
    return ProxyHeaderParser::parse(b.data(), b.size(), h ? h : &scratch);
}

std::string invalid_reason(const Bytes& b) {
    auto r = parse(b);
    INFO(std::string(b.begin(), b.end()));
    CHECK(r.status == Status::invalid);
    return r.error;
}

const Bytes kV2Signature = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

Bytes v2(std::uint8_t ver_cmd, std::uint8_t family, const Bytes& block) {
    Bytes b = kV2Signature;
    b.push_back(ver_cmd);
    b.push_back(family);
    b.push_back(static_cast<std::uint8_t>(block.size() >> 8));
    b.push_back(static_cast<std::uint8_t>(block.size() & 0xff));
    b.insert(b.end(), block.begin(), block.end());
    return b;
}

const Bytes kInetBlock = {192, 0, 2, 7, 198, 51, 100, 1, 0xA0, 0x00, 0x01, 0xBB};  // .7:40960 -> .1:443

}  // namespace

TEST_CASE("v1 TCP4: addresses and ports, and the length up to the CRLF", "[net][proxy_protocol]") {
    ProxyHeader h;
    auto b = bytes("PROXY TCP4 192.0.2.7 198.51.100.1 40960 443\r\nGET / HTTP/1.1\r\n");
    auto r = parse(b, &h);
    REQUIRE(r.status == Status::complete);
    CHECK(r.length == 45);
    CHECK(h.version == 1);
    CHECK_FALSE(h.local);
    CHECK(h.source.to_string() == "192.0.2.7:40960");
    CHECK(h.destination.to_string() == "198.51.100.1:443");
}

TEST_CASE("v1 TCP6 and the longest line the specification allows", "[net][proxy_protocol]") {
    ProxyHeader h;
    auto r = parse(bytes("PROXY TCP6 2001:db8::7 2001:db8::1 0 65535\r\n"), &h);
    REQUIRE(r.status == Status::complete);
    CHECK(h.source.to_string() == "[2001:db8::7]:0");
    CHECK(h.destination.to_string() == "[2001:db8::1]:65535");
    const std::string f = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
    auto longest = bytes("PROXY UNKNOWN " + f + " " + f + " 65535 65535\r\n");
    REQUIRE(longest.size() == ProxyHeaderParser::kMaxV1Length);
    CHECK(parse(longest).status == Status::complete);
    auto tcp6 = bytes("PROXY TCP6 " + f + " " + f + " 65535 65535\r\n");
    CHECK(parse(tcp6).status == Status::complete);
}

TEST_CASE("v1 UNKNOWN: the connection's own addresses stand, whatever follows", "[net][proxy_protocol]") {
    ProxyHeader h;
    auto r = parse(bytes("PROXY UNKNOWN\r\n"), &h);
    REQUIRE(r.status == Status::complete);
    CHECK(r.length == 15);
    CHECK(h.local);
    CHECK(parse(bytes("PROXY UNKNOWN anything at all 1 2\r\n")).status == Status::complete);
    CHECK(parse(bytes("PROXY UNKNOWNX\r\n")).status == Status::invalid);
}

TEST_CASE("v1 arriving a byte at a time: need_more until the LF", "[net][proxy_protocol]") {
    const auto whole = bytes("PROXY TCP4 192.0.2.7 198.51.100.1 40960 443\r\n");
    for (std::size_t n = 0; n < whole.size(); ++n) {
        Bytes prefix(whole.begin(), whole.begin() + static_cast<long>(n));
        INFO(n);
        CHECK(parse(prefix).status == Status::need_more);
    }
    CHECK(parse(whole).status == Status::complete);
}

TEST_CASE("v1: everything the specification does not allow is refused", "[net][proxy_protocol]") {
    CHECK(invalid_reason(bytes("PROXY TCP4 192.0.2.07 198.51.100.1 1 2\r\n")) ==
          std::string("a v1 TCP4 header's address is not a dotted IPv4 address without leading zeros"));
    CHECK(invalid_reason(bytes("PROXY TCP4 192.0.2.256 198.51.100.1 1 2\r\n")) ==
          std::string("a v1 TCP4 header's address is not a dotted IPv4 address without leading zeros"));
    CHECK(invalid_reason(bytes("PROXY TCP4 192.0.2 198.51.100.1 1 2\r\n")) ==
          std::string("a v1 TCP4 header's address is not a dotted IPv4 address without leading zeros"));
    CHECK(invalid_reason(bytes("PROXY TCP4 ::1 ::1 1 2\r\n")) ==
          std::string("a v1 TCP4 header's address is not a dotted IPv4 address without leading zeros"));
    CHECK(invalid_reason(bytes("PROXY TCP6 192.0.2.1 192.0.2.2 1 2\r\n")) ==
          std::string("a v1 TCP6 header's address is not an IPv6 address"));
    CHECK(invalid_reason(bytes("PROXY TCP4 192.0.2.1 192.0.2.2 01 2\r\n")) ==
          std::string("a v1 header's port is not a decimal 0-65535 without leading zeros"));
    CHECK(invalid_reason(bytes("PROXY TCP4 192.0.2.1 192.0.2.2 1 65536\r\n")) ==
          std::string("a v1 header's port is not a decimal 0-65535 without leading zeros"));
    CHECK(invalid_reason(bytes("PROXY TCP4 192.0.2.1 192.0.2.2 -1 2\r\n")) ==
          std::string("a v1 header's port is not a decimal 0-65535 without leading zeros"));
    CHECK(invalid_reason(bytes("PROXY TCP4 192.0.2.1  192.0.2.2 1 2\r\n")) ==
          std::string("a v1 header does not have exactly two addresses and two ports"));
    CHECK(invalid_reason(bytes("PROXY TCP4 192.0.2.1 192.0.2.2 1 2 \r\n")) ==
          std::string("a v1 header does not have exactly two addresses and two ports"));
    CHECK(invalid_reason(bytes("PROXY TCP4 192.0.2.1 192.0.2.2 1\r\n")) ==
          std::string("a v1 header does not have exactly two addresses and two ports"));
    CHECK(invalid_reason(bytes("PROXY TCP4 192.0.2.1 192.0.2.2 1 2 3\r\n")) ==
          std::string("a v1 header does not have exactly two addresses and two ports"));
    CHECK(invalid_reason(bytes("PROXY UDP4 192.0.2.1 192.0.2.2 1 2\r\n")) ==
          std::string("a v1 header's protocol is not TCP4, TCP6 or UNKNOWN"));
    CHECK(invalid_reason(bytes("PROXY \r\n")) == std::string("a v1 header's protocol is not TCP4, TCP6 or UNKNOWN"));
    CHECK(invalid_reason(bytes("PROXY TCP4 192.0.2.1 192.0.2.2 1 2\n")) ==
          std::string("a v1 header line ends in LF without CR"));
    CHECK(invalid_reason(bytes("PROXY TCP4 192.0.2.1 192.0.2.2 1 2\rX")) ==
          std::string("a CR not followed by LF in a v1 header"));
    CHECK(invalid_reason(bytes("PROXY TCP4 192.0.2.1\t192.0.2.2 1 2\r\n")) ==
          std::string("a byte that is not printable ASCII in a v1 header"));
    // 107 bytes without a CRLF: the line can never end validly.
    CHECK(invalid_reason(bytes("PROXY UNKNOWN " + std::string(93, 'a'))) ==
          std::string("no CRLF within the 107 bytes of a v1 header"));
    CHECK(invalid_reason(bytes("PROXY UNKNOWN " + std::string(92, 'a') + "\r\n")) ==
          std::string("no CRLF within the 107 bytes of a v1 header"));
}

TEST_CASE("a client speaking its own protocol is refused at its first differing byte", "[net][proxy_protocol]") {
    CHECK(invalid_reason(bytes("G")) == std::string("the connection does not start with a PROXY protocol header"));
    CHECK(invalid_reason(bytes("GET / HTTP/1.1\r\n")) ==
          std::string("the connection does not start with a PROXY protocol header"));
    CHECK(parse(bytes("PROX")).status == Status::need_more);
    CHECK(invalid_reason(bytes("PROXZ")) == std::string("the connection does not start with a PROXY protocol header"));
    CHECK(invalid_reason(bytes("proxy TCP4")) == std::string("the connection does not start with a PROXY protocol header"));
    CHECK(parse(Bytes{0x0D, 0x0A, 0x0D}).status == Status::need_more);
    CHECK(invalid_reason(Bytes{0x0D, 0x0A, 0x0D, 0x0A, 0x01}) ==
          std::string("the connection does not start with a PROXY protocol header"));
    CHECK(parse(Bytes{}).status == Status::need_more);
}

TEST_CASE("v2 PROXY over IPv4 and IPv6, with the bytes after it left alone", "[net][proxy_protocol]") {
    ProxyHeader h;
    Bytes b = v2(0x21, 0x11, kInetBlock);
    b.push_back('x');
    auto r = parse(b, &h);
    REQUIRE(r.status == Status::complete);
    CHECK(r.length == 28);
    CHECK(h.version == 2);
    CHECK_FALSE(h.local);
    CHECK(h.source.to_string() == "192.0.2.7:40960");
    CHECK(h.destination.to_string() == "198.51.100.1:443");

    Bytes block6(36, 0);
    block6[0] = 0x20, block6[1] = 0x01, block6[2] = 0x0d, block6[3] = 0xb8, block6[15] = 7;
    block6[16] = 0x20, block6[17] = 0x01, block6[18] = 0x0d, block6[19] = 0xb8, block6[31] = 1;
    block6[32] = 0x30, block6[33] = 0x39, block6[34] = 0x00, block6[35] = 0x50;
    REQUIRE(parse(v2(0x21, 0x21, block6), &h).status == Status::complete);
    CHECK(h.source.to_string() == "[2001:db8::7]:12345");
    CHECK(h.destination.to_string() == "[2001:db8::1]:80");
}

TEST_CASE("v2 arriving a byte at a time: need_more until its announced length", "[net][proxy_protocol]") {
    const Bytes whole = v2(0x21, 0x11, kInetBlock);
    for (std::size_t n = 0; n < whole.size(); ++n) {
        INFO(n);
        CHECK(parse(Bytes(whole.begin(), whole.begin() + static_cast<long>(n))).status == Status::need_more);
    }
    CHECK(parse(whole).status == Status::complete);
}

TEST_CASE("v2 LOCAL, UNSPEC and unix: no client address, the connection's own stand", "[net][proxy_protocol]") {
    ProxyHeader h;
    auto r = parse(v2(0x20, 0x00, {}), &h);
    REQUIRE(r.status == Status::complete);
    CHECK(r.length == 16);
    CHECK(h.local);
    // LOCAL skips whatever block it carries.
    CHECK(parse(v2(0x20, 0x11, kInetBlock), &h).status == Status::complete);
    CHECK(h.local);
    CHECK(parse(v2(0x21, 0x00, {}), &h).status == Status::complete);
    CHECK(h.local);
    CHECK(parse(v2(0x21, 0x31, Bytes(216, 0)), &h).status == Status::complete);
    CHECK(h.local);
    CHECK(parse(v2(0x21, 0x10, kInetBlock), &h).status == Status::complete);  // unspecified transport
    CHECK(h.local);
}

TEST_CASE("v2 TLVs after the addresses are skipped when they fill the length exactly", "[net][proxy_protocol]") {
    Bytes block = kInetBlock;
    // PP2_TYPE_AUTHORITY "example.com", then PP2_TYPE_NOOP with an empty value.
    for (std::uint8_t c : Bytes{0x02, 0x00, 0x0b}) block.push_back(c);
    for (char c : std::string("example.com")) block.push_back(static_cast<std::uint8_t>(c));
    for (std::uint8_t c : Bytes{0x04, 0x00, 0x00}) block.push_back(c);
    ProxyHeader h;
    auto r = parse(v2(0x21, 0x11, block), &h);
    REQUIRE(r.status == Status::complete);
    CHECK(r.length == 16 + block.size());
    CHECK(h.source.to_string() == "192.0.2.7:40960");
    // A TLV running past the end, or a stray byte, is malformed.
    Bytes overrun = kInetBlock;
    for (std::uint8_t c : Bytes{0x02, 0x00, 0x05, 'a'}) overrun.push_back(c);
    CHECK(invalid_reason(v2(0x21, 0x11, overrun)) ==
          std::string("a v2 header's TLVs do not fill its announced length exactly"));
    Bytes stray = kInetBlock;
    stray.push_back(0x02);
    CHECK(invalid_reason(v2(0x21, 0x11, stray)) ==
          std::string("a v2 header's TLVs do not fill its announced length exactly"));
}

TEST_CASE("v2: versions, commands, families and lengths the specification does not define are refused",
          "[net][proxy_protocol]") {
    CHECK(invalid_reason(v2(0x11, 0x11, kInetBlock)) == std::string("a binary PROXY header of a version other than 2"));
    CHECK(invalid_reason(v2(0x22, 0x11, kInetBlock)) ==
          std::string("a v2 header's command is neither LOCAL nor PROXY"));
    CHECK(invalid_reason(v2(0x21, 0x41, kInetBlock)) ==
          std::string("a v2 header's address family is not one the specification defines"));
    CHECK(invalid_reason(v2(0x21, 0x13, kInetBlock)) ==
          std::string("a v2 header's transport is not one the specification defines"));
    CHECK(invalid_reason(v2(0x21, 0x12, kInetBlock)) ==
          std::string("a v2 header describes a datagram flow, not a stream"));
    CHECK(invalid_reason(v2(0x21, 0x21, kInetBlock)) ==
          std::string("a v2 header too short for the addresses of its family"));
    CHECK(invalid_reason(v2(0x21, 0x11, Bytes(ProxyHeaderParser::kMaxLength - 15, 0))) ==
          std::string("a v2 header longer than the 1024 bytes accepted"));
    // Refused on the 16-byte preamble alone: no need to wait for a length never coming.
    Bytes preamble = v2(0x21, 0x11, Bytes(2000, 0));
    preamble.resize(16);
    CHECK(parse(preamble).status == Status::invalid);
    // The longest accepted header is exactly kMaxLength.
    Bytes block = kInetBlock;
    const std::size_t tlv = ProxyHeaderParser::kMaxLength - 16 - block.size() - 3;
    block.push_back(0x04);
    block.push_back(static_cast<std::uint8_t>(tlv >> 8));
    block.push_back(static_cast<std::uint8_t>(tlv & 0xff));
    block.resize(block.size() + tlv, 0);
    auto r = parse(v2(0x21, 0x11, block));
    CHECK(r.status == Status::complete);
    CHECK(r.length == ProxyHeaderParser::kMaxLength);
}

TEST_CASE("the writers produce headers the parser reads back", "[net][proxy_protocol]") {
    struct Case {
        PeerAddress src, dst;
        std::string v1, src_text, dst_text;
    };
    const Case cases[] = {
        {ip_peer("192.0.2.7", 40960), ip_peer("198.51.100.1", 443), "PROXY TCP4 192.0.2.7 198.51.100.1 40960 443\r\n",
         "192.0.2.7:40960", "198.51.100.1:443"},
        {ip_peer("2001:db8::7", 1), ip_peer("2001:db8::1", 2), "PROXY TCP6 2001:db8::7 2001:db8::1 1 2\r\n", "[2001:db8::7]:1",
         "[2001:db8::1]:2"},
        // One of each family: both sent as IPv6, the IPv4 one mapped.
        {ip_peer("192.0.2.7", 5), ip_peer("2001:db8::1", 6), "PROXY TCP6 ::ffff:192.0.2.7 2001:db8::1 5 6\r\n",
         "[::ffff:192.0.2.7]:5", "[2001:db8::1]:6"},
    };
    for (const auto& c : cases) {
        char line[ProxyHeaderParser::kMaxV1Length + 1];
        const std::size_t n = write_proxy_header_v1(c.src, c.dst, line);
        CHECK(std::string(line, n) == c.v1);
        ProxyHeader h;
        auto r = ProxyHeaderParser::parse(reinterpret_cast<const std::uint8_t*>(line), n, &h);
        REQUIRE(r.status == Status::complete);
        CHECK(r.length == n);
        CHECK(h.source.to_string() == c.src_text);
        CHECK(h.destination.to_string() == c.dst_text);

        std::uint8_t bin[kMaxV2WriteLength];
        const std::size_t m = write_proxy_header_v2(c.src, c.dst, bin);
        r = ProxyHeaderParser::parse(bin, m, &h);
        REQUIRE(r.status == Status::complete);
        CHECK(r.length == m);
        CHECK(h.version == 2);
        CHECK(h.source.to_string() == c.src_text);
        CHECK(h.destination.to_string() == c.dst_text);
    }
}

TEST_CASE("the writers name no client for a unix one: v1 UNKNOWN, v2 LOCAL", "[net][proxy_protocol]") {
    const PeerAddress unix_client = test::unix_peer();
    char line[ProxyHeaderParser::kMaxV1Length + 1];
    CHECK(std::string(line, write_proxy_header_v1(unix_client, unix_client, line)) == "PROXY UNKNOWN\r\n");
    std::uint8_t bin[kMaxV2WriteLength];
    const std::size_t m = write_proxy_header_v2(unix_client, unix_client, bin);
    CHECK(m == 16);
    CHECK(bin[12] == 0x20);
    ProxyHeader h;
    CHECK(ProxyHeaderParser::parse(bin, m, &h).status == Status::complete);
    CHECK(h.local);
}
