#include "config/YamlReader.hpp"

#include <charconv>
#include <limits>

#include "config/DurationParser.hpp"
#include "config/SizeParser.hpp"
#include "config/YamlPitfalls.hpp"
#include "core/options/Suggest.hpp"

namespace switchyard {
namespace {

bool is_plain(const YAML::Node& node) { return node.Tag() == "?"; }

bool all_digits(std::string_view s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

bool looks_like_integer(std::string_view s) {
    if (!s.empty() && (s.front() == '-' || s.front() == '+')) s.remove_prefix(1);
    return all_digits(s);
}

bool looks_like_number(std::string_view s) {
    if (!s.empty() && (s.front() == '-' || s.front() == '+')) s.remove_prefix(1);
    double value = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    return !s.empty() && ec == std::errc{} && ptr == s.data() + s.size();
}

std::optional<bool> yaml_bool(std::string_view s) {
    for (std::string_view t : {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"})
        if (s == t) return true;
    for (std::string_view f : {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"})
        if (s == f) return false;
    return std::nullopt;
}

std::string join(std::span<const std::string_view> words) {
    std::string out;
    for (std::size_t i = 0; i < words.size(); ++i) {
        if (i > 0) out += i + 1 == words.size() ? " or " : ", ";
        out += words[i];
    }
    return out;
}

// An upper bound that is only the type's limit is not worth printing.
bool unbounded(std::uint64_t max) {
    return max == std::numeric_limits<std::uint64_t>::max() || max == std::numeric_limits<std::uint32_t>::max();
}

std::string range_text(bool no_upper_bound, const std::string& lo, const std::string& hi) {
    if (no_upper_bound) return "must be at least " + lo;
    return "must be between " + lo + " and " + hi;
}

}  // namespace

void YamlReader::error(SourceMark where, std::string message) {
    errors_.push_back(ConfigError{std::move(where), std::move(message)});
}

SourceMark YamlReader::mark_of(const YAML::Node& node, std::string path) {
    SourceMark mark;
    mark.path = std::move(path);
    if (node.IsDefined()) {
        const YAML::Mark m = node.Mark();
        if (m.line >= 0 && m.column >= 0) {
            mark.line = m.line + 1;
            mark.column = m.column + 1;
        }
    }
    return mark;
}

SourceMark YamlReader::value_mark(const YamlField& field) {
    if (field.value.IsNull() && field.key.IsDefined() && !field.key.IsNull()) return mark_of(field.key, field.path);
    return mark_of(field.value, field.path);
}

SourceMark YamlReader::key_mark(const YamlField& field) {
    if (field.key.IsDefined() && !field.key.IsNull()) return mark_of(field.key, field.path);
    return mark_of(field.value, field.path);
}

std::string YamlReader::describe(const YAML::Node& node) {
    if (!node.IsDefined() || node.IsNull()) return "empty value";
    if (node.IsMap()) return "mapping";
    if (node.IsSequence()) return "list";
    const std::string& s = node.Scalar();
    if (is_plain(node)) {
        if (looks_like_integer(s)) return "integer " + s;
        if (yaml_bool(s)) return "boolean " + s;
        if (looks_like_number(s)) return "number " + s;
    }
    return "string '" + s + "'";
}

bool YamlReader::expect_mapping(const YamlField& field) {
    if (field.value.IsMap()) return true;
    error(value_mark(field), "expected mapping, got " + describe(field.value));
    return false;
}

bool YamlReader::expect_list(const YamlField& field) {
    if (field.value.IsSequence()) return true;
    error(value_mark(field), "expected list, got " + describe(field.value));
    return false;
}

std::optional<std::string> YamlReader::scalar(const YamlField& field, std::string_view what) {
    if (field.value.IsScalar()) return field.value.Scalar();
    std::string message = "expected " + std::string(what) + ", got " + describe(field.value);
    if (auto address = unquoted_ipv6_in_node(field.value)) message += " (" + quote_ipv6_hint(*address) + ")";
    error(value_mark(field), message);
    return std::nullopt;
}

std::optional<std::string> YamlReader::string(const YamlField& field) { return scalar(field, "string"); }

std::optional<std::uint64_t> YamlReader::unsigned_integer(const YamlField& field, std::uint64_t min,
                                                          std::uint64_t max) {
    auto text = scalar(field, "integer");
    if (!text) return std::nullopt;
    std::string_view digits = *text;
    if (!is_plain(field.value) || !looks_like_integer(digits)) {
        error(value_mark(field), "expected integer, got " + describe(field.value));
        return std::nullopt;
    }
    if (digits.front() == '-') {
        if (digits.find_first_not_of("-0") == std::string_view::npos) return 0;  // "-0"
        error(value_mark(field), "must not be negative, got " + *text);
        return std::nullopt;
    }
    if (digits.front() == '+') digits.remove_prefix(1);
    std::uint64_t value = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec == std::errc::result_out_of_range) value = std::numeric_limits<std::uint64_t>::max();
    if (ec == std::errc::result_out_of_range || value < min || value > max) {
        error(value_mark(field),
              range_text(value < min && unbounded(max), std::to_string(min), std::to_string(max)) + ", got " + *text);
        return std::nullopt;
    }
    (void)ptr;
    return value;
}

std::optional<bool> YamlReader::boolean(const YamlField& field) {
    auto text = scalar(field, "boolean (true or false)");
    if (!text) return std::nullopt;
    auto value = is_plain(field.value) ? yaml_bool(*text) : std::nullopt;
    if (!value) error(value_mark(field), "expected boolean (true or false), got " + describe(field.value));
    return value;
}

std::optional<Duration> YamlReader::duration(const YamlField& field, Duration min, Duration max) {
    auto text = scalar(field, "duration (e.g. 500ms, 3s, 5m, 1h)");
    if (!text) return std::nullopt;
    std::string problem;
    auto value = parse_duration(*text, &problem);
    if (!value) {
        error(value_mark(field), problem);
        return std::nullopt;
    }
    if (*value < min || *value > max) {
        error(value_mark(field), range_text(*value < min && max == Duration::max(), format_duration(min), format_duration(max)) +
                                     ", got " + *text);
        return std::nullopt;
    }
    return value;
}

std::optional<std::uint64_t> YamlReader::size(const YamlField& field, std::uint64_t min, std::uint64_t max) {
    auto text = scalar(field, "size (e.g. 16KiB)");
    if (!text) return std::nullopt;
    std::string problem;
    auto value = parse_size(*text, &problem);
    if (!value) {
        error(value_mark(field), problem);
        return std::nullopt;
    }
    if (*value < min || *value > max) {
        error(value_mark(field), range_text(*value < min && unbounded(max), format_size(min), format_size(max)) + ", got " + *text);
        return std::nullopt;
    }
    return value;
}

std::optional<std::size_t> YamlReader::choice(const YamlField& field, std::span<const std::string_view> allowed) {
    auto text = scalar(field, "one of " + join(allowed));
    if (!text) return std::nullopt;
    for (std::size_t i = 0; i < allowed.size(); ++i)
        if (allowed[i] == *text) return i;
    error(value_mark(field), "'" + *text + "' is not one of " + join(allowed) + did_you_mean(suggest(*text, allowed)));
    return std::nullopt;
}

std::optional<std::uint32_t> YamlReader::file_mode(const YamlField& field) {
    auto text = scalar(field, "file mode (octal, e.g. \"0660\")");
    if (!text) return std::nullopt;
    std::string_view digits = *text;
    if (digits.substr(0, 2) == "0o" || digits.substr(0, 2) == "0O") digits.remove_prefix(2);
    const bool octal = !digits.empty() && digits.size() <= 5 &&
                       digits.find_first_not_of("01234567") == std::string_view::npos;
    std::uint32_t value = 0;
    if (octal) std::from_chars(digits.data(), digits.data() + digits.size(), value, 8);
    if (!octal || value > 07777) {
        error(value_mark(field), "expected an octal file mode between 0000 and 7777 (e.g. \"0660\"), got " +
                                     describe(field.value));
        return std::nullopt;
    }
    return value;
}

}  // namespace switchyard
