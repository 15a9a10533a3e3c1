#pragma once
// A loopback-only socket address as given on the command line: "127.0.0.1:9000", "[::1]:9000",
// "localhost:9000" or "unix:/path". The load generator refuses anything else so it can never
// be pointed at another machine.
#include <cstdint>
#include <optional>
#include <string>

namespace switchyard::loadgen {

struct LoopbackAddress {
    bool is_unix = false;
    std::string host;        // IP literal, v6 without brackets; inet only
    std::uint16_t port = 0;  // inet only
    std::string path;        // unix only

    std::string to_string() const;  // "127.0.0.1:9000", "[::1]:9000", "unix:/p"
};

// Parses and checks the address is loopback. On failure returns nullopt and sets *error.
// Thread rule: any thread (pure function).
std::optional<LoopbackAddress> parse_loopback_address(const std::string& text, bool allow_port_zero,
                                                      std::string* error);

}  // namespace switchyard::loadgen
