#include <catch2/catch.hpp>

#include "config/ConfigLoader.hpp"

using namespace switchyard;
using namespace std::chrono_literals;

namespace {

std::string duration_error(std::string_view text) {
    std::string error;
    auto d = parse_duration(text, &error);
    CHECK_FALSE(d.has_value());
    return error;
}

}  // namespace

TEST_CASE("parse_duration reads each unit", "[config][duration]") {
    CHECK(parse_duration("500ms", nullptr) == 500ms);
    CHECK(parse_duration("3s", nullptr) == 3s);
    CHECK(parse_duration("5m", nullptr) == 5min);
    CHECK(parse_duration("1h", nullptr) == 1h);
    CHECK(parse_duration("0", nullptr) == 0ms);
    CHECK(parse_duration("0s", nullptr) == 0ms);
    CHECK(parse_duration("+2s", nullptr) == 2s);
}

TEST_CASE("parse_duration combines groups and whole-millisecond fractions", "[config][duration]") {
    CHECK(parse_duration("1m30s", nullptr) == 90s);
    CHECK(parse_duration("1h2m3s4ms", nullptr) == 1h + 2min + 3s + 4ms);
    CHECK(parse_duration("1.5s", nullptr) == 1500ms);
    CHECK(parse_duration("0.25m", nullptr) == 15s);
    CHECK(parse_duration("1.001s", nullptr) == 1001ms);
}

TEST_CASE("parse_duration refuses what it cannot read exactly", "[config][duration]") {
    CHECK(duration_error("5") == "missing unit in duration '5' (expected ms, s, m or h, e.g. 3s)");
    CHECK(duration_error("-1s") == "negative duration '-1s' is not allowed");
    CHECK(duration_error("3x") == "unknown unit 'x' in duration '3x' (expected ms, s, m or h)");
    CHECK(duration_error("250us") == "unknown unit 'us' in duration '250us' (expected ms, s, m or h)");
    CHECK(duration_error("") == "empty duration (expected e.g. 500ms, 3s, 5m, 1h)");
    CHECK(duration_error("abc") == "bad duration 'abc' (expected e.g. 500ms, 3s, 5m, 1h)");
    CHECK(duration_error("1.0005s") == "duration '1.0005s' is finer than the 1ms resolution");
    CHECK(duration_error("1.5ms") == "duration '1.5ms' is finer than the 1ms resolution");
    CHECK(duration_error("3 s") == "unknown unit ' s' in duration '3 s' (expected ms, s, m or h)");
}

TEST_CASE("parse_duration refuses overflow instead of wrapping", "[config][duration]") {
    // int64 milliseconds hold about 2.56 million hours.
    CHECK(duration_error("9999999999999h") == "duration '9999999999999h' is too large");
    CHECK(duration_error("99999999999999999999ms") == "duration '99999999999999999999ms' is too large");
    CHECK(duration_error("9223372036854775807ms1ms") == "duration '9223372036854775807ms1ms' is too large");
    CHECK(parse_duration("9223372036854775807ms", nullptr) == Duration::max());
}

TEST_CASE("format_duration picks the largest exact unit", "[config][duration]") {
    CHECK(format_duration(0ms) == "0ms");
    CHECK(format_duration(1500ms) == "1500ms");
    CHECK(format_duration(3s) == "3s");
    CHECK(format_duration(90s) == "90s");
    CHECK(format_duration(5min) == "5m");
    CHECK(format_duration(2h) == "2h");
}
