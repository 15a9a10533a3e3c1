#include "core/net/SocketAddress.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/un.h>

#include <cstring>

namespace switchyard {

std::string SocketAddress::to_string() const {
    char buf[INET6_ADDRSTRLEN] = {};
    switch (family()) {
        case AF_INET: {
            auto* in = reinterpret_cast<const sockaddr_in*>(&storage);
            inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
            return std::string(buf) + ":" + std::to_string(ntohs(in->sin_port));
        }
        case AF_INET6: {
            auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
            inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
            return "[" + std::string(buf) + "]:" + std::to_string(ntohs(in6->sin6_port));
        }
        case AF_UNIX: {
            auto* un = reinterpret_cast<const sockaddr_un*>(&storage);
            std::size_t n = length > offsetof(sockaddr_un, sun_path) ? length - offsetof(sockaddr_un, sun_path) : 0;
            if (n == 0 || un->sun_path[0] == '\0') return "unix:(unnamed)";
            return "unix:" + std::string(un->sun_path, strnlen(un->sun_path, n));
        }
        default:
            return "(unknown address family " + std::to_string(family()) + ")";
    }
}

std::vector<SocketAddress> resolve(const Address& address, std::string* error) {
    std::vector<SocketAddress> out;
    if (address.is_unix()) {
        SocketAddress sa;
        auto* un = reinterpret_cast<sockaddr_un*>(&sa.storage);
        un->sun_family = AF_UNIX;
        if (address.path.size() >= sizeof un->sun_path) {
            if (error) *error = "unix socket path too long: " + address.path;
            return out;
        }
        std::memcpy(un->sun_path, address.path.c_str(), address.path.size() + 1);
        sa.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.path.size() + 1);
        out.push_back(sa);
        return out;
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
    addrinfo* res = nullptr;
    std::string port = std::to_string(address.port);
    int rc = getaddrinfo(address.host.c_str(), port.c_str(), &hints, &res);
    if (rc == EAI_ADDRFAMILY || rc == EAI_NONAME || rc == EAI_FAMILY) {
        // AI_ADDRCONFIG hides ::1 on hosts whose only v6 address is loopback; retry without it.
        hints.ai_flags = AI_NUMERICSERV;
        rc = getaddrinfo(address.host.c_str(), port.c_str(), &hints, &res);
    }
    if (rc != 0) {
        if (error) *error = "cannot resolve '" + address.host + "': " + gai_strerror(rc);
        return out;
    }
    for (addrinfo* ai = res; ai; ai = ai->ai_next) {
        SocketAddress sa;
        std::memcpy(&sa.storage, ai->ai_addr, ai->ai_addrlen);
        sa.length = ai->ai_addrlen;
        out.push_back(sa);
    }
    freeaddrinfo(res);
    return out;
}

}  // namespace switchyard
