// The `length-field` built-in codec (Netty LengthFieldBasedFrameDecoder parameters), loaded as a
// real shared object through Codec::open.
#include <catch2/catch.hpp>

#include "tests/unit/codec/CodecTestSupport.hpp"

using namespace switchyard;
using namespace switchyard::testing;
using namespace std::string_literals;
using Payloads = std::vector<std::string>;

namespace {

const std::string kHello = "HELLO, WORLD";  // 12 bytes, as in Netty's documentation

// Every Netty example decodes the same whether the bytes come at once or one at a time.
void check_stream(const Codec& codec, const std::string& stream, const Payloads& expected) {
    for (std::size_t chunk : {0, 1, 2, 5}) {
        CAPTURE(chunk);
        const StreamResult r = decode_stream(codec, stream + stream, chunk);
        CHECK(r.end == DecodeStatus::need_more);
        CHECK(r.leftover == 0);
        Payloads twice = expected;
        twice.insert(twice.end(), expected.begin(), expected.end());
        CHECK(r.payloads == twice);
    }
}

StreamResult decode_once(const Codec& codec, const std::string& stream) {
    return decode_stream(codec, stream, 1);
}

}  // namespace

TEST_CASE("length-field: defaults are a 4-byte big-endian length, header stripped",
          "[codec][length-field]") {
    auto codec = require_codec("length-field", {});
    CHECK(codec->name() == "length-field");
    check_stream(*codec, "\0\0\0\x0c"s + kHello, {kHello});
    check_stream(*codec, "\0\0\0\0"s, {""});
    CHECK(codec->max_header() == 4);
    CHECK(encode_frame(*codec, kHello) == "\0\0\0\x0c"s + kHello);
}

TEST_CASE("length-field: Netty's documented layouts", "[codec][length-field]") {
    SECTION("2-byte length at offset 0, header kept") {
        auto c = require_codec("length-field", {{"length_field_length", "2"},
                                                {"initial_bytes_to_strip", "0"}});
        check_stream(*c, "\x00\x0c"s + kHello, {"\x00\x0c"s + kHello});
    }
    SECTION("2-byte length at offset 0, header stripped") {
        auto c = require_codec("length-field", {{"length_field_length", "2"},
                                                {"initial_bytes_to_strip", "2"}});
        check_stream(*c, "\x00\x0c"s + kHello, {kHello});
    }
    SECTION("length counts the whole frame: adjustment -2") {
        auto c = require_codec("length-field", {{"length_field_length", "2"},
                                                {"length_adjustment", "-2"},
                                                {"initial_bytes_to_strip", "0"}});
        check_stream(*c, "\x00\x0e"s + kHello, {"\x00\x0e"s + kHello});
    }
    SECTION("3-byte length after a 2-byte header") {
        auto c = require_codec("length-field", {{"length_field_offset", "2"},
                                                {"length_field_length", "3"},
                                                {"initial_bytes_to_strip", "0"}});
        check_stream(*c, "\xca\xfe\x00\x00\x0c"s + kHello, {"\xca\xfe\x00\x00\x0c"s + kHello});
    }
    SECTION("3-byte length then a 2-byte header: adjustment +2") {
        auto c = require_codec("length-field", {{"length_field_length", "3"},
                                                {"length_adjustment", "2"},
                                                {"initial_bytes_to_strip", "0"}});
        check_stream(*c, "\x00\x00\x0c\xca\xfe"s + kHello, {"\x00\x00\x0c\xca\xfe"s + kHello});
    }
    SECTION("HDR1 LEN HDR2 body, strip HDR1 and LEN") {
        auto c = require_codec("length-field", {{"length_field_offset", "1"},
                                                {"length_field_length", "2"},
                                                {"length_adjustment", "1"},
                                                {"initial_bytes_to_strip", "3"}});
        check_stream(*c, "\xca\x00\x0c\xfe"s + kHello, {"\xfe"s + kHello});
    }
    SECTION("HDR1 LEN HDR2 body, length counts the whole frame") {
        auto c = require_codec("length-field", {{"length_field_offset", "1"},
                                                {"length_field_length", "2"},
                                                {"length_adjustment", "-3"},
                                                {"initial_bytes_to_strip", "3"}});
        check_stream(*c, "\xca\x00\x10\xfe"s + kHello, {"\xfe"s + kHello});
    }
}

TEST_CASE("length-field: every width in both byte orders round-trips", "[codec][length-field]") {
    for (const char* width : {"1", "2", "3", "4", "8"}) {
        for (const char* order : {"big", "little"}) {
            CAPTURE(width, order);
            auto c = require_codec("length-field", {{"length_field_length", width},
                                                    {"byte_order", order},
                                                    {"max_frame", "1MiB"}});
            const std::string payload(200, 'p');
            const std::string frame = encode_frame(*c, payload);
            CHECK(frame.size() == 200 + std::stoul(width));
            check_stream(*c, frame, {payload});
        }
    }
    auto little = require_codec("length-field", {{"length_field_length", "2"},
                                                 {"byte_order", "little"}});
    CHECK(encode_frame(*little, std::string(0x0102, 'x')).substr(0, 2) == "\x02\x01");
    auto big = require_codec("length-field", {{"length_field_length", "3"}});
    CHECK(encode_frame(*big, std::string(0x0102, 'x')).substr(0, 3) == "\x00\x01\x02"s);
}

TEST_CASE("length-field: length_includes_header counts the offset and field bytes",
          "[codec][length-field]") {
    auto c = require_codec("length-field", {{"length_field_offset", "1"},
                                            {"length_field_length", "2"},
                                            {"length_includes_header", "true"}});
    // value 0x0f = 1 + 2 + 12
    check_stream(*c, "\x07\x00\x0f"s + kHello, {kHello});
    CHECK(encode_frame(*c, kHello) == "\x00\x00\x0f"s + kHello);
}

TEST_CASE("length-field: encode zero-fills header bytes after the length field",
          "[codec][length-field]") {
    auto c = require_codec("length-field", {{"length_field_offset", "1"},
                                            {"length_field_length", "2"},
                                            {"length_adjustment", "1"},
                                            {"initial_bytes_to_strip", "4"}});
    CHECK(c->max_header() == 4);
    CHECK(encode_frame(*c, kHello) == "\x00\x00\x0c\x00"s + kHello);
    check_stream(*c, encode_frame(*c, kHello), {kHello});
}

TEST_CASE("length-field: negative adjusted length is malformed, not a stall",
          "[codec][length-field]") {
    auto c = require_codec("length-field", {{"length_field_length", "2"},
                                            {"length_adjustment", "-5"}});
    const StreamResult r = decode_once(*c, "\x00\x01xyz"s);
    CHECK(r.end == DecodeStatus::malformed);
    CHECK_THAT(r.reason, Catch::Contains("less than the header"));
    CHECK(r.payloads.empty());
}

TEST_CASE("length-field: strip longer than the frame is malformed before the frame arrives",
          "[codec][length-field]") {
    auto c = require_codec("length-field", {{"length_field_length", "1"},
                                            {"initial_bytes_to_strip", "10"}});
    const StreamResult r = decode_once(*c, "\x02"s);  // frame of 3 bytes, only the header sent
    CHECK(r.end == DecodeStatus::malformed);
    CHECK_THAT(r.reason, Catch::Contains("initial_bytes_to_strip (10) is larger than the frame"));
}

TEST_CASE("length-field: a length over max_frame is too large from the header alone",
          "[codec][length-field]") {
    auto c = require_codec("length-field", {{"max_frame", "100"}});
    StreamResult r = decode_once(*c, "\x00\x00\x00\x61"s);  // 97 + 4 = 101 > 100
    CHECK(r.end == DecodeStatus::too_large);
    CHECK_THAT(r.reason, Catch::Contains("exceeds max_frame (100)"));
    CHECK(decode_once(*c, "\x00\x00\x00\x60"s + std::string(96, 'x')).payloads.size() == 1);

    auto wide = require_codec("length-field", {{"length_field_length", "8"}});
    r = decode_once(*wide, "\xff\xff\xff\xff\xff\xff\xff\xff"s);
    CHECK(r.end == DecodeStatus::too_large);
    r = decode_once(*wide, "\x7f\xff\xff\xff\xff\xff\xff\xfe"s);
    CHECK(r.end == DecodeStatus::too_large);
    // The largest adjustment downwards cannot wrap a huge value into a small frame.
    auto adjusted = require_codec("length-field", {{"length_field_length", "8"},
                                                   {"length_adjustment", "-1099511627776"}});
    r = decode_once(*adjusted, "\x00\x00\x02\x00\x00\x00\x00\x00"s);  // 2^41 - 2^40 + 8
    CHECK(r.end == DecodeStatus::too_large);
    r = decode_once(*adjusted, "\x00\x00\x00\x00\x00\x00\x00\x05"s);
    CHECK(r.end == DecodeStatus::malformed);
}

TEST_CASE("length-field: encode refuses what the field or max_frame cannot express",
          "[codec][length-field]") {
    std::uint8_t header[1024], trailer[8];
    std::size_t hl = 0, tl = 0;
    char reason[256];
    auto one = require_codec("length-field", {{"length_field_length", "1"},
                                              {"max_frame", "1MiB"}});
    CHECK(one->encode(255, header, &hl, trailer, &tl, reason, sizeof reason));
    CHECK(hl == 1);
    CHECK(header[0] == 255);
    CHECK_FALSE(one->encode(256, header, &hl, trailer, &tl, reason, sizeof reason));
    CHECK_THAT(std::string(reason), Catch::Contains("does not fit a 1-byte length field"));
    CHECK(hl == 0);

    auto small = require_codec("length-field", {{"max_frame", "10"}});
    CHECK(small->encode(6, header, &hl, trailer, &tl, reason, sizeof reason));
    CHECK_FALSE(small->encode(7, header, &hl, trailer, &tl, reason, sizeof reason));
    CHECK_THAT(std::string(reason), Catch::Contains("over max_frame"));

    auto adjusted = require_codec("length-field", {{"length_adjustment", "3"}});
    CHECK_FALSE(adjusted->encode(2, header, &hl, trailer, &tl, reason, sizeof reason));
    CHECK_THAT(std::string(reason), Catch::Contains("too short for length_adjustment"));
}

TEST_CASE("length-field: a layout whose payload includes the length field decodes only",
          "[codec][length-field]") {
    auto c = require_codec("length-field", {{"initial_bytes_to_strip", "0"}});
    CHECK_FALSE(c->can_encode());
    CHECK(c->max_header() == 0);
    std::uint8_t header[8], trailer[8];
    std::size_t hl = 0, tl = 0;
    char reason[256];
    CHECK_FALSE(c->encode(3, header, &hl, trailer, &tl, reason, sizeof reason));
    CHECK_THAT(std::string(reason), Catch::Contains("cannot encode"));
    check_stream(*c, "\0\0\0\x01z"s, {"\0\0\0\x01z"s});
}

TEST_CASE("length-field: impossible option sets are refused at create", "[codec][length-field]") {
    struct Case {
        std::vector<std::pair<std::string, std::string>> options;
        const char* key;
        const char* says;
    };
    const std::vector<Case> cases{
        {{{"length_field_length", "5"}}, "length_field_length", "must be 1, 2, 3, 4 or 8"},
        {{{"length_field_length", "0"}}, "length_field_length", "out of range"},
        {{{"length_field_length", "16"}}, "length_field_length", "out of range"},
        {{{"byte_order", "middle"}}, "byte_order", "not one of: big, little"},
        {{{"length_adjustment", "x"}}, "length_adjustment", "not an integer"},
        {{{"length_field_offset", "-1"}}, "length_field_offset", "out of range"},
        {{{"length_field_offset", "8"}, {"max_frame", "10"}}, "max_frame",
         "smaller than the header"},
        {{{"initial_bytes_to_strip", "200"}, {"max_frame", "100"}}, "initial_bytes_to_strip",
         "larger than max_frame"},
        {{{"length_includes_header", "sometimes"}}, "length_includes_header", "not a boolean"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.key, c.says);
        std::vector<ConfigError> errors;
        CHECK(open_codec("length-field", c.options, &errors) == nullptr);
        REQUIRE(errors.size() == 1);
        CHECK(errors[0].where.path == std::string("listeners[0].codec.") + c.key);
        CHECK_THAT(errors[0].message, Catch::Contains(c.says));
    }
}
