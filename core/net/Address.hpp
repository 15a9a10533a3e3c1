#pragma once
// Textual socket addresses as written in the config: "host:port", "[v6]:port", "unix:/path".
// Parsing is pure (no DNS, no Asio) so the config validator can use it; resolving to a socket
// endpoint happens in net/Resolve.hpp when the runtime is built.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace switchyard {

struct Address {
    enum class Kind { inet, unix_path };
    Kind kind = Kind::inet;
    std::string host;        // IP literal (v6 without brackets) or a DNS name; inet only
    std::uint16_t port = 0;  // inet only
    std::string path;        // unix only

    bool is_unix() const { return kind == Kind::unix_path; }
    std::string to_string() const;  // canonical text: "1.2.3.4:80", "[::1]:80", "unix:/p"
    bool operator==(const Address&) const = default;
};

// Parses "host:port", "[v6]:port" or "unix:/path". Returns nullopt and sets *error to a
// sentence saying what is wrong. allow_port_zero: listeners may bind port 0 (tests); endpoints
// may not.
std::optional<Address> parse_address(std::string_view text, std::string* error,
                                     bool allow_port_zero = false);

// A unix socket path for a `protocol: unix` listener: "unix:/p" or a bare path.
std::optional<Address> parse_unix_path(std::string_view text, std::string* error);

}  // namespace switchyard
