#include "core/net/Address.hpp"

#include <arpa/inet.h>
#include <sys/un.h>

#include <cctype>
#include <charconv>

namespace switchyard {
namespace {

bool is_ipv4(const std::string& s) {
    in_addr a{};
    return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool is_ipv6(const std::string& s) {
    in6_addr a{};
    return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

// RFC 1123 host name: labels of letters, digits and '-', not starting/ending with '-'.
bool is_hostname(std::string_view s) {
    if (s.empty() || s.size() > 253) return false;
    std::size_t label = 0;
    char prev = '.';
    for (char c : s) {
        if (c == '.') {
            if (label == 0 || prev == '-') return false;
            label = 0;
        } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') {
            if (label == 0 && c == '-') return false;
            if (++label > 63) return false;
        } else {
            return false;
        }
        prev = c;
    }
    return prev != '-' && prev != '.';
}

std::optional<Address> fail(std::string* error, std::string msg) {
    if (error) *error = std::move(msg);
    return std::nullopt;
}

}  // namespace

std::string Address::to_string() const {
    if (kind == Kind::unix_path) return "unix:" + path;
    if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

std::optional<Address> parse_unix_path(std::string_view text, std::string* error) {
    if (text.substr(0, 5) == "unix:") text.remove_prefix(5);
    if (text.empty()) return fail(error, "empty unix socket path");
    if (text.front() != '/') return fail(error, "unix socket path must be absolute: '" + std::string(text) + "'");
    if (text.size() >= sizeof(sockaddr_un{}.sun_path))
        return fail(error, "unix socket path longer than " +
                               std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes");
    Address a;
    a.kind = Address::Kind::unix_path;
    a.path = std::string(text);
    return a;
}

std::optional<Address> parse_address(std::string_view text, std::string* error, bool allow_port_zero) {
    if (text.substr(0, 5) == "unix:") return parse_unix_path(text, error);
    std::string host;
    std::string_view port_text;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos) return fail(error, "missing ']' in '" + std::string(text) + "'");
        host = std::string(text.substr(1, close - 1));
        if (close + 1 >= text.size() || text[close + 1] != ':')
            return fail(error, "expected ':port' after ']' in '" + std::string(text) + "'");
        port_text = text.substr(close + 2);
        if (!is_ipv6(host)) return fail(error, "'" + host + "' is not an IPv6 address");
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos)
            return fail(error, "expected host:port, [v6]:port or unix:/path, got '" + std::string(text) + "'");
        host = std::string(text.substr(0, colon));
        port_text = text.substr(colon + 1);
        if (host.find(':') != std::string::npos)
            return fail(error, "IPv6 addresses need brackets: '[" + host + "]:port'");
        if (host.empty()) return fail(error, "missing host in '" + std::string(text) + "'");
        if (!is_ipv4(host) && !is_hostname(host))
            return fail(error, "'" + host + "' is neither an IP address nor a host name");
        bool all_digits_dots = host.find_first_not_of("0123456789.") == std::string::npos;
        if (all_digits_dots && !is_ipv4(host)) return fail(error, "'" + host + "' is not a valid IPv4 address");
    }
    unsigned port = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec != std::errc{} || ptr != port_text.data() + port_text.size() || port > 65535)
        return fail(error, "bad port '" + std::string(port_text) + "' (expected 0-65535)");
    if (port == 0 && !allow_port_zero) return fail(error, "port 0 is not allowed here");
    Address a;
    a.kind = Address::Kind::inet;
    a.host = std::move(host);
    a.port = static_cast<std::uint16_t>(port);
    return a;
}

}  // namespace switchyard
