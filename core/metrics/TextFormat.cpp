#include "core/metrics/TextFormat.hpp"

#include <charconv>
#include <cmath>

namespace switchyard::metrics::text_format {

void append_escaped_label_value(std::string& out, std::string_view value) {
    for (char c : value) {
        switch (c) {
            case '\\': out += "\\\\"; break;
            case '"': out += "\\\""; break;
            case '\n': out += "\\n"; break;
            default: out += c;
        }
    }
}

void append_escaped_help(std::string& out, std::string_view help) {
    for (char c : help) {
        switch (c) {
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            default: out += c;
        }
    }
}

void append_double(std::string& out, double value) {
    if (std::isnan(value)) {
        out += "NaN";
        return;
    }
    if (std::isinf(value)) {
        out += value > 0 ? "+Inf" : "-Inf";
        return;
    }
    char buffer[32];
    auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    out.append(buffer, result.ptr);
}

void append_uint(std::string& out, std::uint64_t value) {
    char buffer[24];
    auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    out.append(buffer, result.ptr);
}

void append_int(std::string& out, std::int64_t value) {
    char buffer[24];
    auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    out.append(buffer, result.ptr);
}

void append_label_pairs(std::string& out, const std::vector<std::string>& names,
                        const std::vector<std::string>& values) {
    for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
        if (i > 0) out += ',';
        out += names[i];
        out += "=\"";
        append_escaped_label_value(out, values[i]);
        out += '"';
    }
}

namespace {
bool is_letter_or_underscore(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
}  // namespace

bool is_valid_metric_name(std::string_view name) {
    if (name.empty()) return false;
    if (!is_letter_or_underscore(name[0]) && name[0] != ':') return false;
    for (char c : name.substr(1)) {
        if (!is_letter_or_underscore(c) && !is_digit(c) && c != ':') return false;
    }
    return true;
}

bool is_valid_label_name(std::string_view name) {
    if (name.empty() || !is_letter_or_underscore(name[0])) return false;
    if (name.starts_with("__")) return false;
    for (char c : name.substr(1)) {
        if (!is_letter_or_underscore(c) && !is_digit(c)) return false;
    }
    return true;
}

}  // namespace switchyard::metrics::text_format
