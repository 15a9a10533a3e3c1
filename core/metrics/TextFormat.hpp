#pragma once
// Low-level pieces of the Prometheus text format 0.0.4: escaping, number formatting and name
// checks. Pure functions, any thread. Families pre-render their label text once per child with
// append_label_pairs() so a scrape only concatenates strings.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace switchyard::metrics::text_format {

// Label values escape backslash, double quote and newline.
void append_escaped_label_value(std::string& out, std::string_view value);

// HELP text escapes backslash and newline (quotes stay as they are).
void append_escaped_help(std::string& out, std::string_view help);

// Shortest text that round-trips; +Inf, -Inf and NaN as Prometheus spells them.
void append_double(std::string& out, double value);
void append_uint(std::string& out, std::uint64_t value);
void append_int(std::string& out, std::int64_t value);

// `a="x",b="y"` (no braces); names and values must have the same length.
void append_label_pairs(std::string& out, const std::vector<std::string>& names,
                        const std::vector<std::string>& values);

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool is_valid_metric_name(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]*, and not starting with "__" (reserved by Prometheus).
bool is_valid_label_name(std::string_view name);

}  // namespace switchyard::metrics::text_format
