#include "tests/bench/loadgen/LoopbackAddress.hpp"

#include <arpa/inet.h>
#include <sys/un.h>

#include <charconv>
#include <cstring>

namespace switchyard::loadgen {

std::string LoopbackAddress::to_string() const {
    if (is_unix) return "unix:" + path;
    if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

std::optional<LoopbackAddress> parse_loopback_address(const std::string& text, bool allow_port_zero,
                                                      std::string* error) {
    LoopbackAddress address;
    if (text.starts_with("unix:")) {
        address.is_unix = true;
        address.path = text.substr(5);
        if (address.path.empty()) {
            *error = "empty unix socket path in '" + text + "'";
            return std::nullopt;
        }
        if (address.path.size() >= sizeof(sockaddr_un{}.sun_path)) {
            *error = "unix socket path longer than " + std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) +
                     " bytes: '" + address.path + "'";
            return std::nullopt;
        }
        return address;
    }

    std::string host;
    std::string port_text;
    if (text.starts_with("[")) {
        auto close = text.find("]:");
        if (close == std::string::npos) {
            *error = "expected [v6]:port, got '" + text + "'";
            return std::nullopt;
        }
        host = text.substr(1, close - 1);
        port_text = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string::npos) {
            *error = "expected host:port or unix:/path, got '" + text + "'";
            return std::nullopt;
        }
        host = text.substr(0, colon);
        port_text = text.substr(colon + 1);
    }
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535 ||
        (port == 0 && !allow_port_zero)) {
        *error = "bad port '" + port_text + "' in '" + text + "'";
        return std::nullopt;
    }
    if (host == "localhost") host = "127.0.0.1";

    in_addr v4{};
    in6_addr v6{};
    bool loopback = false;
    if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
        loopback = (ntohl(v4.s_addr) >> 24) == 127;
    } else if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
        loopback = std::memcmp(&v6, &in6addr_loopback, sizeof v6) == 0;
    } else {
        *error = "'" + host + "' is not an IP literal (only loopback addresses and localhost are allowed)";
        return std::nullopt;
    }
    if (!loopback) {
        *error = "'" + host + "' is not a loopback address: the load generator only drives loopback";
        return std::nullopt;
    }
    address.host = host;
    address.port = static_cast<std::uint16_t>(port);
    return address;
}

}  // namespace switchyard::loadgen
