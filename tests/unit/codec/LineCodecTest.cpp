// The `line` built-in codec, loaded as a real shared object through Codec::open.
#include <catch2/catch.hpp>

#include "switchyard/units.hpp"
#include "tests/unit/codec/CodecTestSupport.hpp"

using namespace switchyard;
using namespace switchyard::testing;
using Payloads = std::vector<std::string>;

namespace {
const std::uint8_t* bytes(const std::string& s) {
    return reinterpret_cast<const std::uint8_t*>(s.data());
}
}  // namespace

TEST_CASE("line: frames split however the bytes arrive", "[codec][line]") {
    auto codec = require_codec("line", {});
    CHECK(codec->name() == "line");
    for (std::size_t chunk : {0, 1, 2, 3, 5, 7}) {
        CAPTURE(chunk);
        const StreamResult r = decode_stream(*codec, "a\nbb\n\nccc", chunk);
        CHECK(r.payloads == Payloads{"a", "bb", ""});
        CHECK(r.end == DecodeStatus::need_more);
        CHECK(r.leftover == 3);
    }
}

TEST_CASE("line: many frames in one buffer come out one decode call each", "[codec][line]") {
    auto codec = require_codec("line", {});
    std::string stream;
    for (int i = 0; i < 1000; ++i) stream += std::to_string(i) + "\n";
    const StreamResult r = decode_stream(*codec, stream);
    REQUIRE(r.payloads.size() == 1000);
    CHECK(r.payloads[0] == "0");
    CHECK(r.payloads[999] == "999");
    CHECK(r.leftover == 0);
}

TEST_CASE("line: strip_cr removes one \\r before the \\n, even when split", "[codec][line]") {
    auto crlf = require_codec("line", {{"strip_cr", "true"}});
    auto lf = require_codec("line", {{"strip_cr", "false"}});
    for (std::size_t chunk : {0, 1}) {
        CHECK(decode_stream(*crlf, "a\r\nb\n\r\n\r\r\n", chunk).payloads ==
              Payloads{"a", "b", "", "\r"});
        CHECK(decode_stream(*lf, "a\r\nb\n\r\n", chunk).payloads == Payloads{"a\r", "b", "\r"});
    }
}

TEST_CASE("line: max_frame bounds the bytes before the newline", "[codec][line]") {
    auto codec = require_codec("line", {{"max_frame", "4"}});
    CHECK(decode_stream(*codec, "abcd\n").payloads == Payloads{"abcd"});
    CHECK(decode_stream(*codec, "abcd").end == DecodeStatus::need_more);
    // Too large as soon as a fifth byte arrives without a newline: no waiting for the rest.
    StreamResult r = decode_stream(*codec, "abcde", 1);
    CHECK(r.end == DecodeStatus::too_large);
    CHECK_THAT(r.reason, Catch::Contains("max_frame"));
    CHECK(decode_stream(*codec, "ab\nabcdef\n").end == DecodeStatus::too_large);
    CHECK(decode_stream(*codec, "ab\nabcdef\n").payloads == Payloads{"ab"});
}

TEST_CASE("line: default max_frame is 64KiB", "[codec][line]") {
    auto codec = require_codec("line", {});
    CHECK(decode_stream(*codec, std::string(65536, 'x') + "\n").payloads.size() == 1);
    CHECK(decode_stream(*codec, std::string(65537, 'x') + "\n").end == DecodeStatus::too_large);
    auto big = require_codec("line", {{"max_frame", "1MiB"}});
    CHECK(decode_stream(*big, std::string(1 << 20, 'x') + "\n", 4096).payloads.size() == 1);
}

TEST_CASE("line: max_frame reads sizes as the daemon's keys do, with the same meaning", "[codec][line]") {
    // The issue this guards: buffer_size: 1MB was accepted while max_frame: 1MB was refused.
    for (const char* spelling : {"1000", "1KB", "1kb", "1KiB", "2 KiB", "3kib", "1000B", "1MB"}) {
        CAPTURE(spelling);
        std::string why;
        const std::optional<std::uint64_t> bytes = swy::parse_size(spelling, &why);
        REQUIRE(bytes);
        auto codec = require_codec("line", {{"max_frame", spelling}});
        CHECK(decode_stream(*codec, std::string(*bytes, 'x') + "\n", 4096).payloads.size() == 1);
        CHECK(decode_stream(*codec, std::string(*bytes + 1, 'x') + "\n", 4096).end == DecodeStatus::too_large);
    }
}

TEST_CASE("line: a dribbled line is scanned once (the state resumes the search)", "[codec][line]") {
    auto codec = require_codec("line", {});
    std::uint64_t state = 0;
    std::string buffer = "abc";
    CHECK(codec->decode(bytes(buffer), buffer.size(), &state, nullptr, 0).status ==
          DecodeStatus::need_more);
    CHECK(state == 3);
    // The codec must not look at the 3 bytes it already searched: a newline planted there is not
    // seen. (A host never changes those bytes; this proves the search resumes at `state`.)
    buffer = "a\ncd";
    CHECK(codec->decode(bytes(buffer), buffer.size(), &state, nullptr, 0).status ==
          DecodeStatus::need_more);
    CHECK(state == 4);
    buffer = "a\ncd\n";
    DecodedFrame f = codec->decode(bytes(buffer), buffer.size(), &state, nullptr, 0);
    CHECK(f.status == DecodeStatus::frame);
    CHECK(f.consumed == 5);
    CHECK(f.payload_length == 4);
    CHECK(state == 0);  // reset by the host after a frame
}

TEST_CASE("line: 1-byte dribble of a long line stays linear", "[codec][line]") {
    // 4 MiB one byte at a time: ~4M decode calls. A codec rescanning the partial line each time
    // would do ~8e12 byte comparisons and never finish; a resuming one takes milliseconds.
    auto codec = require_codec("line", {{"max_frame", "8MiB"}});
    std::string buffer;
    buffer.reserve((4 << 20) + 1);
    std::uint64_t state = 0;
    for (int i = 0; i < (4 << 20); ++i) {
        buffer.push_back('x');
        if (codec->decode(bytes(buffer), buffer.size(), &state, nullptr, 0).status !=
            DecodeStatus::need_more)
            FAIL("unexpected decode result at byte " << i);
    }
    buffer.push_back('\n');
    CHECK(codec->decode(bytes(buffer), buffer.size(), &state, nullptr, 0).payload_length ==
          (4u << 20));
}

TEST_CASE("line: encode appends \\n, or \\r\\n with strip_cr, and round-trips", "[codec][line]") {
    auto lf = require_codec("line", {});
    auto crlf = require_codec("line", {{"strip_cr", "true"}});
    CHECK(lf->can_encode());
    CHECK(lf->max_header() == 0);
    CHECK(lf->max_trailer() == 1);
    CHECK(crlf->max_trailer() == 2);
    CHECK(encode_frame(*lf, "hello") == "hello\n");
    CHECK(encode_frame(*crlf, "hello") == "hello\r\n");
    for (const std::string payload : {"", "x", "a\r", "some words"}) {
        CHECK(decode_stream(*lf, encode_frame(*lf, payload)).payloads == Payloads{payload});
        CHECK(decode_stream(*crlf, encode_frame(*crlf, payload)).payloads == Payloads{payload});
    }
}

TEST_CASE("line: encode refuses a payload over max_frame", "[codec][line]") {
    auto codec = require_codec("line", {{"max_frame", "4"}});
    std::uint8_t header[8], trailer[8];
    std::size_t hl = 0, tl = 0;
    char reason[128];
    CHECK(codec->encode(4, header, &hl, trailer, &tl, reason, sizeof reason));
    CHECK_FALSE(codec->encode(5, header, &hl, trailer, &tl, reason, sizeof reason));
    CHECK_THAT(std::string(reason), Catch::Contains("exceeds max_frame"));
}

TEST_CASE("line: bad option values are refused at the option's line", "[codec][line]") {
    struct Case {
        const char* key;
        const char* value;
        const char* says;
    };
    for (const Case& c : {Case{"strip_cr", "maybe", "not a boolean"},
                          Case{"max_frame", "64k", "unknown unit 'k' in size '64k'"},
                          Case{"max_frame", "1.5MiB", "must be a whole number"},
                          Case{"max_frame", "0", "out of range"},
                          Case{"max_frame", "-1", "negative size '-1' is not allowed"}}) {
        CAPTURE(c.key, c.value);
        std::vector<ConfigError> errors;
        CHECK(open_codec("line", {{c.key, c.value}}, &errors) == nullptr);
        REQUIRE(errors.size() == 1);
        CHECK(errors[0].where.path == std::string("listeners[0].codec.") + c.key);
        CHECK(errors[0].where.line == 8);
        CHECK_THAT(errors[0].message, Catch::Contains(c.says));
    }
}
