#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "core/metrics/TextFormat.hpp"

using namespace switchyard::metrics;

namespace {
std::string as_text(double value) {
    std::string out;
    text_format::append_double(out, value);
    return out;
}
}  // namespace

TEST_CASE("doubles print in a form Prometheus parses, shortest round trip") {
    CHECK(as_text(1.0) == "1");
    CHECK(as_text(0.5) == "0.5");
    CHECK(as_text(0.1) == "0.1");
    CHECK(as_text(-2.25) == "-2.25");
    CHECK(as_text(1e6) == "1e+06");
    CHECK(as_text(1e-9) == "1e-09");
    CHECK(as_text(std::numeric_limits<double>::infinity()) == "+Inf");
    CHECK(as_text(-std::numeric_limits<double>::infinity()) == "-Inf");
    CHECK(as_text(std::nan("")) == "NaN");
    CHECK(std::stod(as_text(0.30000000000000004)) == 0.30000000000000004);
}

TEST_CASE("integers print exactly, including the largest counter value") {
    std::string out;
    text_format::append_uint(out, 18446744073709551615ull);
    CHECK(out == "18446744073709551615");
    out.clear();
    text_format::append_int(out, -42);
    CHECK(out == "-42");
}

TEST_CASE("label values escape backslash, quote and newline; help escapes backslash and newline") {
    std::string label;
    text_format::append_escaped_label_value(label, "a\\b\"c\nd\te");
    CHECK(label == "a\\\\b\\\"c\\nd\te");
    std::string help;
    text_format::append_escaped_help(help, "a\\b\"c\nd");
    CHECK(help == "a\\\\b\"c\\nd");
}

TEST_CASE("label pairs render in label-name order") {
    std::string out;
    text_format::append_label_pairs(out, {"listener", "direction"}, {"web", "in\"x"});
    CHECK(out == "listener=\"web\",direction=\"in\\\"x\"");
}

TEST_CASE("metric and label names follow the Prometheus grammar") {
    CHECK(text_format::is_valid_metric_name("switchyard_bytes_total"));
    CHECK(text_format::is_valid_metric_name("ns:rule_name"));
    CHECK(text_format::is_valid_metric_name("_x1"));
    CHECK_FALSE(text_format::is_valid_metric_name(""));
    CHECK_FALSE(text_format::is_valid_metric_name("1abc"));
    CHECK_FALSE(text_format::is_valid_metric_name("a-b"));
    CHECK_FALSE(text_format::is_valid_metric_name("a b"));

    CHECK(text_format::is_valid_label_name("listener"));
    CHECK(text_format::is_valid_label_name("_x9"));
    CHECK_FALSE(text_format::is_valid_label_name("__name__"));
    CHECK_FALSE(text_format::is_valid_label_name("a:b"));
    CHECK_FALSE(text_format::is_valid_label_name("9a"));
    CHECK_FALSE(text_format::is_valid_label_name(""));
}
