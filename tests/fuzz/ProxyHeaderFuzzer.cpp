// libFuzzer target: the PROXY protocol header parser (core/net/ProxyHeader). Any input must be
// judged without reading past its end (ASan), and consistently as bytes arrive:
//   - a complete header is at most the input and at most kMaxLength long, and its verdict does
//     not depend on what follows it;
//   - one byte less than a complete header is need_more; once invalid, more bytes never help;
//   - a header naming a client is written back by both writers into headers that parse to the
//     same addresses.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/net/ProxyHeader.hpp"

namespace {

using switchyard::ProxyHeader;
using switchyard::ProxyHeaderParser;
using Status = ProxyHeaderParser::Status;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "proxy header fuzzer: %s\n", what);
    std::abort();
}

bool same(const switchyard::PeerAddress& a, const switchyard::PeerAddress& b) {
    return std::memcmp(&a.addr, &b.addr, sizeof a.addr) == 0;
}

// Both writers send IPv6 for mixed families; only same-family pairs come back unchanged.
void check_round_trip(const ProxyHeader& h) {
    if (h.local || h.source.family() != h.destination.family()) return;
    char line[ProxyHeaderParser::kMaxV1Length + 1];
    const std::size_t n = switchyard::write_proxy_header_v1(h.source, h.destination, line);
    ProxyHeader back;
    auto r = ProxyHeaderParser::parse(reinterpret_cast<const std::uint8_t*>(line), n, &back);
    if (r.status != Status::complete || r.length != n) fail("a written v1 header does not parse back");
    if (!same(back.source, h.source) || !same(back.destination, h.destination)) fail("v1 round trip changed addresses");
    std::uint8_t bin[switchyard::kMaxV2WriteLength];
    const std::size_t m = switchyard::write_proxy_header_v2(h.source, h.destination, bin);
    r = ProxyHeaderParser::parse(bin, m, &back);
    if (r.status != Status::complete || r.length != m) fail("a written v2 header does not parse back");
    if (!same(back.source, h.source) || !same(back.destination, h.destination)) fail("v2 round trip changed addresses");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ProxyHeader h;
    const auto r = ProxyHeaderParser::parse(data, size, &h);
    if (r.status == Status::invalid && (r.error == nullptr || r.error[0] == '\0')) fail("invalid without a reason");
    if (r.status == Status::complete) {
        if (r.length == 0 || r.length > size || r.length > ProxyHeaderParser::kMaxLength) fail("bad header length");
        ProxyHeader exact;
        const auto alone = ProxyHeaderParser::parse(data, r.length, &exact);
        if (alone.status != Status::complete || alone.length != r.length) fail("verdict depends on trailing bytes");
        if (exact.local != h.local || !same(exact.source, h.source) || !same(exact.destination, h.destination))
            fail("addresses depend on trailing bytes");
        if (ProxyHeaderParser::parse(data, r.length - 1, &exact).status != Status::need_more)
            fail("a complete header less its last byte is not need_more");
        check_round_trip(h);
    }
    if (size > 0) {
        ProxyHeader shorter;
        const auto before = ProxyHeaderParser::parse(data, size - 1, &shorter);
        if (before.status == Status::invalid && r.status != Status::invalid) fail("more bytes made an invalid header valid");
        if (before.status == Status::complete && (r.status != Status::complete || r.length != before.length))
            fail("a complete header changed with a byte more");
    }
    return 0;
}
