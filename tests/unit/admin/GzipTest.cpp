#include <catch2/catch.hpp>

#include <zlib.h>

#include <string>

#include "core/admin/Gzip.hpp"

using namespace switchyard::admin;

TEST_CASE("accepts_gzip reads Accept-Encoding as RFC 9110 says") {
    CHECK(accepts_gzip("gzip"));
    CHECK(accepts_gzip("GZIP"));
    CHECK(accepts_gzip("identity, gzip;q=0.5"));
    CHECK(accepts_gzip(" deflate , x-gzip "));
    CHECK(accepts_gzip("gzip; q=1.0"));
    CHECK_FALSE(accepts_gzip(""));
    CHECK_FALSE(accepts_gzip("identity"));
    CHECK_FALSE(accepts_gzip("gzip;q=0"));
    CHECK_FALSE(accepts_gzip("gzip;q=0.000"));
    CHECK_FALSE(accepts_gzip("gzipx, br"));
}

TEST_CASE("gzip_compress writes one gzip member that zlib inflates back to the input") {
    std::string text;
    for (int i = 0; i < 1000; ++i) text += "switchyard_listener_bytes_received_total{listener=\"l" + std::to_string(i) + "\"} 12\n";
    const std::string zipped = gzip_compress(text);
    REQUIRE(zipped.size() > 18);
    CHECK(static_cast<unsigned char>(zipped[0]) == 0x1f);  // gzip magic (RFC 1952)
    CHECK(static_cast<unsigned char>(zipped[1]) == 0x8b);
    CHECK(zipped.size() < text.size() / 4);

    z_stream stream{};
    REQUIRE(inflateInit2(&stream, 15 + 16) == Z_OK);
    std::string out(text.size() + 16, '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(zipped.data()));
    stream.avail_in = static_cast<uInt>(zipped.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    CHECK(inflate(&stream, Z_FINISH) == Z_STREAM_END);
    out.resize(stream.total_out);
    inflateEnd(&stream);
    CHECK(out == text);
    CHECK(gzip_compress("").size() > 0);  // an empty body is still a valid member
}
