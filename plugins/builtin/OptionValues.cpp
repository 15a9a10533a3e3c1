#include "plugins/builtin/OptionValues.hpp"

#include <charconv>

namespace switchyard::builtin {
namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

bool parse_integer(std::string_view text, std::int64_t min, std::int64_t max, std::int64_t* value,
                   std::string* why) {
    std::int64_t number = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, number);
    if (text.empty() || ec != std::errc() || ptr != end) {
        *why = "\"" + std::string(text) + "\" is not an integer";
        return false;
    }
    if (number < min || number > max) {
        *why = std::string(text) + " is out of range [" + std::to_string(min) + ", " +
               std::to_string(max) + "]";
        return false;
    }
    *value = number;
    return true;
}

bool parse_bool(std::string_view text, bool* value, std::string* why) {
    if (text == "true" || text == "yes" || text == "on" || text == "1") {
        *value = true;
        return true;
    }
    if (text == "false" || text == "no" || text == "off" || text == "0") {
        *value = false;
        return true;
    }
    *why = "\"" + std::string(text) + "\" is not a boolean; use true or false";
    return false;
}

bool parse_escaped_bytes(std::string_view text, std::string* bytes, std::string* why) {
    bytes->clear();
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\\') {
            bytes->push_back(text[i]);
            continue;
        }
        if (++i == text.size()) {
            *why = "ends with a lone backslash";
            return false;
        }
        switch (text[i]) {
            case 'n': bytes->push_back('\n'); break;
            case 'r': bytes->push_back('\r'); break;
            case 't': bytes->push_back('\t'); break;
            case '0': bytes->push_back('\0'); break;
            case '\\': bytes->push_back('\\'); break;
            case 'x': {
                const int hi = i + 1 < text.size() ? hex_digit(text[i + 1]) : -1;
                const int lo = i + 2 < text.size() ? hex_digit(text[i + 2]) : -1;
                if (hi < 0 || lo < 0) {
                    *why = "\\x needs two hex digits (\\x00 .. \\xff)";
                    return false;
                }
                bytes->push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
                break;
            }
            default:
                *why = std::string("unknown escape \\") + text[i] +
                       " (use \\n \\r \\t \\0 \\\\ or \\xHH)";
                return false;
        }
    }
    return true;
}

std::string escape_bytes(std::string_view bytes) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) {
        switch (c) {
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\\': out += "\\\\"; break;
            default:
                if (c >= 0x20 && c < 0x7f) {
                    out.push_back(static_cast<char>(c));
                } else {
                    out += "\\x";
                    out.push_back(kHex[c >> 4]);
                    out.push_back(kHex[c & 15]);
                }
        }
    }
    return out;
}

}  // namespace switchyard::builtin
