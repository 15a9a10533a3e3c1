#include "tests/bench/loadgen/SocketEndpoint.hpp"

#include <netinet/in.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>

namespace switchyard::loadgen {

namespace asio = boost::asio;

asio::generic::stream_protocol::endpoint to_endpoint(const LoopbackAddress& address) {
    if (address.is_unix) return asio::local::stream_protocol::endpoint(address.path);
    return asio::ip::tcp::endpoint(asio::ip::make_address(address.host), address.port);
}

unsigned short endpoint_port(const asio::generic::stream_protocol::endpoint& endpoint) {
    const sockaddr* raw = endpoint.data();
    if (raw->sa_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(raw)->sin_port);
    if (raw->sa_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(raw)->sin6_port);
    return 0;
}

}  // namespace switchyard::loadgen
