#pragma once
// Parsers for the option values the built-in codecs accept. Pure functions: each returns false and
// sets *why to a sentence (no key prefix) when the text is not a valid value. Sizes are read with
// the SDK's swy::parse_size (switchyard/units.hpp), the daemon's own parser.
#include <cstdint>
#include <string>
#include <string_view>

namespace switchyard::builtin {

// Decimal integer within [min, max]; a leading '-' allowed when min < 0.
bool parse_integer(std::string_view text, std::int64_t min, std::int64_t max, std::int64_t* value,
                   std::string* why);

// true/false, yes/no, on/off, 1/0.
bool parse_bool(std::string_view text, bool* value, std::string* why);

// A byte sequence with C-like escapes: \n \r \t \0 \\ \xHH; any other byte stands for itself.
// Needed because option values are C strings (a NUL byte can only arrive as "\0").
bool parse_escaped_bytes(std::string_view text, std::string* bytes, std::string* why);

// The printable form of a byte sequence, escaping what parse_escaped_bytes would unescape.
std::string escape_bytes(std::string_view bytes);

}  // namespace switchyard::builtin
