#include <catch2/catch.hpp>

#include "config/ConfigLoader.hpp"

using namespace switchyard;

namespace {

std::string size_error(std::string_view text) {
    std::string error;
    auto s = parse_size(text, &error);
    CHECK_FALSE(s.has_value());
    return error;
}

}  // namespace

TEST_CASE("parse_size reads binary and decimal units", "[config][size]") {
    CHECK(parse_size("4096", nullptr) == 4096u);
    CHECK(parse_size("512B", nullptr) == 512u);
    CHECK(parse_size("64KiB", nullptr) == 64u * 1024);
    CHECK(parse_size("1MiB", nullptr) == 1024u * 1024);
    CHECK(parse_size("1GiB", nullptr) == 1024ull * 1024 * 1024);
    CHECK(parse_size("2TiB", nullptr) == 2ull << 40);
    CHECK(parse_size("10KB", nullptr) == 10'000u);
    CHECK(parse_size("3MB", nullptr) == 3'000'000u);
    CHECK(parse_size("1GB", nullptr) == 1'000'000'000u);
    CHECK(parse_size("16kib", nullptr) == 16u * 1024);
    CHECK(parse_size("16 KiB", nullptr) == 16u * 1024);
    CHECK(parse_size("0", nullptr) == 0u);
}

TEST_CASE("parse_size refuses garbage, fractions, negatives and overflow", "[config][size]") {
    const std::string expected = " (expected bytes or a number with B, KiB, MiB, GiB, KB, MB or GB, e.g. 64KiB)";
    CHECK(size_error("") == "empty size" + expected);
    CHECK(size_error("lots") == "bad size 'lots'" + expected);
    CHECK(size_error("KiB") == "bad size 'KiB'" + expected);
    CHECK(size_error("64Kb/s") == "unknown unit 'Kb/s' in size '64Kb/s'" + expected);
    CHECK(size_error("64 K") == "unknown unit 'K' in size '64 K'" + expected);
    CHECK(size_error("-1KiB") == "negative size '-1KiB' is not allowed");
    CHECK(size_error("1.5MiB") == "size '1.5MiB' must be a whole number (write 1536KiB, not 1.5MiB)");
    CHECK(size_error("16777216TiB") == "size '16777216TiB' is too large");
    CHECK(size_error("18446744073709551616") == "size '18446744073709551616' is too large");
    CHECK(parse_size("18446744073709551615", nullptr) == 18446744073709551615ull);
}

TEST_CASE("format_size picks the largest exact binary unit", "[config][size]") {
    CHECK(format_size(0) == "0B");
    CHECK(format_size(1000) == "1000B");
    CHECK(format_size(1024) == "1KiB");
    CHECK(format_size(16 * 1024 * 1024) == "16MiB");
    CHECK(format_size(1536) == "1536B");
}
