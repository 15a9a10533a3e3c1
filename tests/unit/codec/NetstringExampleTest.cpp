// The example out-of-tree plugin (plugins/examples/netstring), loaded through Codec::open.
// By default the copy built in this tree; set SWITCHYARD_NETSTRING_PLUGIN to the .so built
// against an installed SDK (plugins/examples/build-against-installed-sdk.sh does) to check that.
#include <cstdlib>

#include <catch2/catch.hpp>

#include "tests/unit/codec/CodecTestSupport.hpp"

using namespace switchyard;
using namespace switchyard::testing;
using Payloads = std::vector<std::string>;

namespace {
std::string netstring_plugin() {
    const char* path = std::getenv("SWITCHYARD_NETSTRING_PLUGIN");
    return path != nullptr && *path != '\0' ? std::string(path) : fixture_path("netstring");
}
}  // namespace

TEST_CASE("netstring example: decodes, encodes and round-trips", "[codec][netstring]") {
    auto codec = require_codec(netstring_plugin(), {});
    CHECK(codec->name() == "netstring");
    for (std::size_t chunk : {0, 1, 3}) {
        const StreamResult r = decode_stream(*codec, "5:hello,0:,12:hello world!,3:ab", chunk);
        CHECK(r.payloads == Payloads{"hello", "", "hello world!"});
        CHECK(r.leftover == 4);
    }
    CHECK(encode_frame(*codec, "hello") == "5:hello,");
    CHECK(encode_frame(*codec, std::string(1234, 'x')).substr(0, 5) == "1234:");
    CHECK(decode_stream(*codec, encode_frame(*codec, std::string(300, 'y'))).payloads ==
          Payloads{std::string(300, 'y')});
}

TEST_CASE("netstring example: malformed and oversized input", "[codec][netstring]") {
    auto codec = require_codec(netstring_plugin(), {{"max_frame", "10"}});
    CHECK(decode_stream(*codec, "x:abc,").end == DecodeStatus::malformed);
    CHECK(decode_stream(*codec, "3:abc;").end == DecodeStatus::malformed);
    CHECK(decode_stream(*codec, "03:abc,").end == DecodeStatus::malformed);
    const StreamResult r = decode_stream(*codec, "11:", 1);
    CHECK(r.end == DecodeStatus::too_large);
    CHECK_THAT(r.reason, Catch::Contains("max_frame"));
    CHECK(decode_stream(*codec, "99999999999999999999999:").end == DecodeStatus::too_large);

    std::vector<ConfigError> errors;
    CHECK(open_codec(netstring_plugin(), {{"max_frame", "ten"}}, &errors) == nullptr);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].where.path == "listeners[0].codec.max_frame");
}
