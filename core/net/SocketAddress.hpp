#pragma once
// A resolved socket address (IPv4, IPv6 or unix path) as the kernel takes it, with no Asio in
// sight, plus resolution of config Addresses (DNS names resolved once, when a runtime is built).
#include <sys/socket.h>

#include <string>
#include <vector>

#include "core/net/Address.hpp"

namespace switchyard {

struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t length = 0;

    int family() const { return storage.ss_family; }
    const sockaddr* data() const { return reinterpret_cast<const sockaddr*>(&storage); }
    sockaddr* data() { return reinterpret_cast<sockaddr*>(&storage); }
    std::string to_string() const;  // "1.2.3.4:80", "[::1]:80", "unix:/p", "unix:(unnamed)"
};

// Any thread (blocking DNS for names). Returns an empty vector and sets *error on failure.
std::vector<SocketAddress> resolve(const Address& address, std::string* error);

}  // namespace switchyard
