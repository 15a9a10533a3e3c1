// The `delimiter` built-in codec, loaded as a real shared object through Codec::open.
#include <catch2/catch.hpp>

#include "tests/unit/codec/CodecTestSupport.hpp"

using namespace switchyard;
using namespace switchyard::testing;
using namespace std::string_literals;
using Payloads = std::vector<std::string>;

TEST_CASE("delimiter: \\r\\n frames however the bytes arrive", "[codec][delimiter]") {
    auto codec = require_codec("delimiter", {{"delimiter", "\\r\\n"}});
    for (std::size_t chunk : {0, 1, 2, 3, 4}) {
        CAPTURE(chunk);
        const StreamResult r = decode_stream(*codec, "GET\r\na\rb\nc\r\n\r\ntail\r", chunk);
        CHECK(r.payloads == Payloads{"GET", "a\rb\nc", ""});
        CHECK(r.leftover == 5);
    }
}

TEST_CASE("delimiter: NUL and arbitrary bytes given as escapes", "[codec][delimiter]") {
    auto nul = require_codec("delimiter", {{"delimiter", "\\0"}});
    CHECK(decode_stream(*nul, "one\0two\0"s, 1).payloads == Payloads{"one", "two"});

    auto binary = require_codec("delimiter", {{"delimiter", "\\x00\\xff"}});
    const std::string stream = "a\0b\xff\0\xff" "c\0\xff"s;
    for (std::size_t chunk : {0, 1, 2})
        CHECK(decode_stream(*binary, stream, chunk).payloads == Payloads{"a\0b\xff"s, "c"});

    auto word = require_codec("delimiter", {{"delimiter", "--END--"}});
    CHECK(decode_stream(*word, "x--END-y--END----END--", 1).payloads == Payloads{"x--END-y", ""});

    auto backslash = require_codec("delimiter", {{"delimiter", "\\\\|\\t"}});
    CHECK(decode_stream(*backslash, "a\\|\tb").payloads == Payloads{"a"});
}

TEST_CASE("delimiter: overlapping delimiter bytes take the first occurrence", "[codec][delimiter]") {
    auto codec = require_codec("delimiter", {{"delimiter", "aa"}});
    for (std::size_t chunk : {0, 1}) {
        const StreamResult r = decode_stream(*codec, "xaaa", chunk);
        CHECK(r.payloads == Payloads{"x"});
        CHECK(r.leftover == 1);
    }
}

TEST_CASE("delimiter: a delimiter straddling the resumed search point is found",
          "[codec][delimiter]") {
    auto codec = require_codec("delimiter", {{"delimiter", "\\r\\n"}});
    std::uint64_t state = 0;
    std::string buffer = "abc\r";
    auto data = [&] { return reinterpret_cast<const std::uint8_t*>(buffer.data()); };
    CHECK(codec->decode(data(), buffer.size(), &state, nullptr, 0).status ==
          DecodeStatus::need_more);
    CHECK(state == 4);
    buffer += "\n";
    const DecodedFrame f = codec->decode(data(), buffer.size(), &state, nullptr, 0);
    CHECK(f.status == DecodeStatus::frame);
    CHECK(f.payload_length == 3);
    CHECK(f.consumed == 5);
}

TEST_CASE("delimiter: max_frame bounds the bytes before the delimiter", "[codec][delimiter]") {
    auto codec = require_codec("delimiter", {{"delimiter", "||"}, {"max_frame", "3"}});
    CHECK(decode_stream(*codec, "abc||").payloads == Payloads{"abc"});
    CHECK(decode_stream(*codec, "abc|").end == DecodeStatus::need_more);
    const StreamResult r = decode_stream(*codec, "abcd|", 1);
    CHECK(r.end == DecodeStatus::too_large);
    CHECK_THAT(r.reason, Catch::Contains("max_frame (3 bytes)"));
}

TEST_CASE("delimiter: encode appends the delimiter and round-trips", "[codec][delimiter]") {
    auto codec = require_codec("delimiter", {{"delimiter", "\\x00\\xff"}});
    CHECK(codec->max_trailer() == 2);
    CHECK(codec->max_header() == 0);
    CHECK(encode_frame(*codec, "hi") == "hi\0\xff"s);
    for (const std::string& payload : {""s, "x"s, "\xff\xff"s, "long payload"s})
        CHECK(decode_stream(*codec, encode_frame(*codec, payload) + encode_frame(*codec, payload), 1)
                  .payloads == Payloads{payload, payload});
}

TEST_CASE("delimiter: missing, empty or badly escaped delimiters are refused", "[codec][delimiter]") {
    std::vector<ConfigError> errors;
    CHECK(open_codec("delimiter", {}, &errors) == nullptr);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].where.path == "listeners[0].codec");
    CHECK_THAT(errors[0].message, Catch::Contains("needs option delimiter"));

    struct Case {
        const char* value;
        const char* says;
    };
    for (const Case& c : {Case{"", "must not be empty"}, Case{"\\q", "unknown escape \\q"},
                          Case{"\\x4", "two hex digits"}, Case{"ab\\", "lone backslash"}}) {
        CAPTURE(c.value);
        errors.clear();
        CHECK(open_codec("delimiter", {{"delimiter", c.value}}, &errors) == nullptr);
        REQUIRE(errors.size() == 1);
        CHECK(errors[0].where.path == "listeners[0].codec.delimiter");
        CHECK_THAT(errors[0].message, Catch::Contains(c.says));
    }
}
