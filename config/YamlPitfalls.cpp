#include "config/YamlPitfalls.hpp"

#include <cctype>

namespace switchyard {
namespace {

bool ipv6_char(char c) { return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.' || c == '%'; }

// "::1" inside a one-element list: what yaml-cpp makes of an unquoted "[::1]".
std::optional<std::string> single_ipv6_in_list(const YAML::Node& node) {
    if (!node.IsSequence() || node.size() != 1 || !node[0].IsScalar()) return std::nullopt;
    const std::string& inside = node[0].Scalar();
    if (inside.find(':') == std::string::npos) return std::nullopt;
    for (char c : inside)
        if (!ipv6_char(c)) return std::nullopt;
    return "[" + inside + "]";
}

}  // namespace

std::optional<std::string> unquoted_ipv6_on_line(std::string_view yaml_text, int line) {
    for (int l = 1; l < line && !yaml_text.empty(); ++l) {
        const std::size_t eol = yaml_text.find('\n');
        yaml_text = eol == std::string_view::npos ? std::string_view() : yaml_text.substr(eol + 1);
    }
    const std::string_view text = yaml_text.substr(0, yaml_text.find('\n'));
    char quote = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quote) {
            if (c == quote) quote = 0;
            continue;
        }
        if (c == '"' || c == '\'') quote = c;
        if (c == '#') return std::nullopt;
        if (c != '[') continue;
        std::size_t j = i + 1;
        while (j < text.size() && ipv6_char(text[j])) ++j;
        const std::string_view inside = text.substr(i + 1, j - i - 1);
        if (j == text.size() || text[j] != ']' || inside.find(':') == std::string_view::npos) continue;
        std::size_t end = j + 1;
        if (end < text.size() && text[end] == ':') {  // a port
            std::size_t digits = end + 1;
            while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
            if (digits > end + 1) end = digits;
        }
        return std::string(text.substr(i, end - i));
    }
    return std::nullopt;
}

std::optional<std::string> unquoted_ipv6_in_node(const YAML::Node& node) {
    if (auto address = single_ipv6_in_list(node)) return address;
    if (!node.IsMap() || node.size() != 1) return std::nullopt;
    const auto pair = *node.begin();
    auto address = single_ipv6_in_list(pair.first);
    if (!address || !pair.second.IsScalar()) return std::nullopt;
    return *address + ":" + pair.second.Scalar();
}

std::string quote_ipv6_hint(const std::string& written) { return "quote IPv6 addresses: \"" + written + "\""; }

}  // namespace switchyard
