#pragma once
// LoopbackAddress -> an Asio generic stream endpoint, so TCP and unix sockets share one code
// path. Asio-heavy: include from .cpp files only.
#include <boost/asio/generic/stream_protocol.hpp>

#include "tests/bench/loadgen/LoopbackAddress.hpp"

namespace switchyard::loadgen {

// Thread rule: any thread.
boost::asio::generic::stream_protocol::endpoint to_endpoint(const LoopbackAddress& address);

// The port of a TCP generic endpoint (0 for unix). Thread rule: any thread.
unsigned short endpoint_port(const boost::asio::generic::stream_protocol::endpoint& endpoint);

}  // namespace switchyard::loadgen
