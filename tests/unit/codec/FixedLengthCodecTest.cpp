// The `fixed-length` built-in codec, loaded as a real shared object through Codec::open.
#include <catch2/catch.hpp>

#include "tests/unit/codec/CodecTestSupport.hpp"

using namespace switchyard;
using namespace switchyard::testing;
using Payloads = std::vector<std::string>;

TEST_CASE("fixed-length: cuts every frame_length bytes", "[codec][fixed-length]") {
    auto codec = require_codec("fixed-length", {{"frame_length", "4"}});
    CHECK(codec->name() == "fixed-length");
    for (std::size_t chunk : {0, 1, 3, 4, 5}) {
        CAPTURE(chunk);
        const StreamResult r = decode_stream(*codec, "abcdefghij", chunk);
        CHECK(r.payloads == Payloads{"abcd", "efgh"});
        CHECK(r.leftover == 2);
    }
    auto kib = require_codec("fixed-length", {{"frame_length", "1KiB"}});
    CHECK(decode_stream(*kib, std::string(3072, 'z'), 100).payloads.size() == 3);
}

TEST_CASE("fixed-length: encode adds nothing and refuses other lengths", "[codec][fixed-length]") {
    auto codec = require_codec("fixed-length", {{"frame_length", "4"}});
    CHECK(encode_frame(*codec, "abcd") == "abcd");
    std::uint8_t header[1], trailer[1];
    std::size_t hl = 0, tl = 0;
    char reason[128];
    CHECK_FALSE(codec->encode(3, header, &hl, trailer, &tl, reason, sizeof reason));
    CHECK_THAT(std::string(reason), Catch::Contains("not frame_length (4)"));
}

TEST_CASE("fixed-length: frame_length is required and positive", "[codec][fixed-length]") {
    std::vector<ConfigError> errors;
    CHECK(open_codec("fixed-length", {}, &errors) == nullptr);
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0].message, Catch::Contains("needs option frame_length"));
    errors.clear();
    CHECK(open_codec("fixed-length", {{"frame_length", "0"}}, &errors) == nullptr);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].where.path == "listeners[0].codec.frame_length");
    CHECK_THAT(errors[0].message, Catch::Contains("out of range"));
}
