#include "core/proxy/PerIpConnections.hpp"

#include <cstring>

#include "core/net/AddressHash.hpp"

namespace switchyard {

std::size_t PerIpConnections::KeyHash::operator()(const Key& k) const { return mix64(k.high ^ mix64(k.low)); }

bool PerIpConnections::key_of(const PeerAddress& client, Key* key) {
    std::uint8_t bytes[16] = {};
    if (client.family() == AF_INET) {
        bytes[10] = bytes[11] = 0xff;
        std::memcpy(bytes + 12, &client.addr.in.sin_addr, 4);
    } else if (client.family() == AF_INET6) {
        std::memcpy(bytes, &client.addr.in6.sin6_addr, 16);
    } else {
        return false;
    }
    std::memcpy(&key->high, bytes, 8);
    std::memcpy(&key->low, bytes + 8, 8);
    return true;
}

bool PerIpConnections::try_acquire(const PeerAddress& client, std::uint32_t limit) {
    Key k;
    if (!key_of(client, &k)) return true;
    Stripe& s = stripe(k);
    std::lock_guard lock(s.mutex);
    std::uint32_t& open = s.open[k];
    if (open >= limit) {
        if (open == 0) s.open.erase(k);  // limit 0: nothing was ever counted here
        return false;
    }
    ++open;
    return true;
}

void PerIpConnections::release(const PeerAddress& client) {
    Key k;
    if (!key_of(client, &k)) return;
    Stripe& s = stripe(k);
    std::lock_guard lock(s.mutex);
    auto it = s.open.find(k);
    if (it == s.open.end()) return;
    if (--it->second == 0) s.open.erase(it);
}

std::uint32_t PerIpConnections::open(const PeerAddress& client) const {
    Key k;
    if (!key_of(client, &k)) return 0;
    Stripe& s = stripe(k);
    std::lock_guard lock(s.mutex);
    auto it = s.open.find(k);
    return it == s.open.end() ? 0 : it->second;
}

}  // namespace switchyard
