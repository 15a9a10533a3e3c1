// DatagramBatch and DatagramPeer over real loopback UDP sockets: a batch received with recvmmsg,
// some entries dropped, the rest sent back with one sendmmsg, each to its own peer.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "core/proxy/datagram/DatagramBatch.hpp"
#include "core/proxy/datagram/DatagramPeer.hpp"

using namespace switchyard;

namespace {

struct Udp {
    int fd;
    sockaddr_in addr{};
    Udp() {
        fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        socklen_t len = sizeof addr;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    }
    ~Udp() { ::close(fd); }
    void send_to(const Udp& to, const std::string& s) const {
        REQUIRE(::sendto(fd, s.data(), s.size(), 0, reinterpret_cast<const sockaddr*>(&to.addr), sizeof to.addr) ==
                static_cast<ssize_t>(s.size()));
    }
    std::string recv_one() const {
        char buf[256];
        ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        return n < 0 ? std::string("<none>") : std::string(buf, static_cast<std::size_t>(n));
    }
};

}  // namespace

TEST_CASE("DatagramPeer: address and port make the key; the IPv6 flow label does not", "[datagram]") {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(53);
    ::inet_pton(AF_INET6, "::1", &a.sin6_addr);
    sockaddr_in6 b = a;
    b.sin6_flowinfo = htonl(0x12345);
    auto pa = DatagramPeer::from(reinterpret_cast<sockaddr*>(&a), sizeof a);
    auto pb = DatagramPeer::from(reinterpret_cast<sockaddr*>(&b), sizeof b);
    CHECK(pa == pb);
    CHECK(pa.hash() == pb.hash());
    b.sin6_port = htons(54);
    auto pc = DatagramPeer::from(reinterpret_cast<sockaddr*>(&b), sizeof b);
    CHECK_FALSE(pa == pc);
    CHECK(pa.ip_hash() == pc.ip_hash());  // source-addr-hash: same client IP
    CHECK(pa.to_string() == "[::1]:53");
    sockaddr_in v4{};
    v4.sin_family = AF_INET;
    CHECK(DatagramPeer::from(reinterpret_cast<sockaddr*>(&v4), 4).empty());  // too short: no address
}

TEST_CASE("DatagramBatch: recvmmsg, drop some, sendmmsg the rest to their own peers", "[datagram]") {
    Udp server, one, two;
    one.send_to(server, "first");
    two.send_to(server, std::string(40, 'x'));  // longer than a slot: truncated
    one.send_to(server, "third");
    DatagramBatch batch(8, 16);
    int n = batch.receive_from(server.fd);
    REQUIRE(n == 3);
    CHECK(std::string(reinterpret_cast<char*>(batch.data(0)), batch.length(0)) == "first");
    CHECK(batch.truncated(1));
    CHECK_FALSE(batch.truncated(2));
    // Keep 0 and 2 (skipping the truncated one), answer each to where it came from.
    batch.keep(0, batch.peer(0), LocalAddress{});
    batch.keep(2, batch.peer(2), LocalAddress{});
    CHECK(batch.size() == 2);
    static const std::uint8_t extra[] = {'e', 'x', 't', 'r', 'a'};
    batch.add(extra, sizeof extra, DatagramPeer::from(reinterpret_cast<sockaddr*>(&two.addr), sizeof two.addr),
              LocalAddress{});
    auto r = batch.flush(server.fd);
    CHECK(r.sent == 3);
    CHECK(r.sent_bytes == 15);
    CHECK(batch.empty());
    CHECK(one.recv_one() == "first");
    CHECK(one.recv_one() == "third");
    CHECK(two.recv_one() == "extra");
    // The slots are whole again after a flush: a new batch receives into every one.
    one.send_to(server, "again");
    REQUIRE(batch.receive_from(server.fd) == 1);
    CHECK(std::string(reinterpret_cast<char*>(batch.data(0)), batch.length(0)) == "again");
}
