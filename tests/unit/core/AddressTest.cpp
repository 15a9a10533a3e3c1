#include <catch2/catch.hpp>

#include "core/net/Address.hpp"
#include "core/net/AddressHash.hpp"
#include "core/net/SocketAddress.hpp"

#include <arpa/inet.h>

using namespace switchyard;

TEST_CASE("parse_address accepts IPv4, bracketed IPv6, host names and unix paths") {
    std::string err;
    auto a = parse_address("127.0.0.1:8080", &err);
    REQUIRE(a);
    CHECK(a->host == "127.0.0.1");
    CHECK(a->port == 8080);
    CHECK(a->to_string() == "127.0.0.1:8080");

    auto b = parse_address("[::1]:9000", &err);
    REQUIRE(b);
    CHECK(b->host == "::1");
    CHECK(b->to_string() == "[::1]:9000");

    auto c = parse_address("backend.internal:6379", &err);
    REQUIRE(c);
    CHECK(c->host == "backend.internal");

    auto u = parse_address("unix:/run/app.sock", &err);
    REQUIRE(u);
    CHECK(u->is_unix());
    CHECK(u->path == "/run/app.sock");
}

TEST_CASE("parse_address rejects bad input with a reason") {
    std::string err;
    CHECK_FALSE(parse_address("127.0.0.1", &err));
    CHECK(err.find("expected host:port") != std::string::npos);
    CHECK_FALSE(parse_address("127.0.0.1:70000", &err));
    CHECK(err.find("bad port") != std::string::npos);
    CHECK_FALSE(parse_address("::1:80", &err));
    CHECK(err.find("brackets") != std::string::npos);
    CHECK_FALSE(parse_address("[::g]:80", &err));
    CHECK(err.find("not an IPv6 address") != std::string::npos);
    CHECK_FALSE(parse_address("300.1.1.1:80", &err));
    CHECK(err.find("not a valid IPv4") != std::string::npos);
    CHECK_FALSE(parse_address("bad host!:80", &err));
    CHECK_FALSE(parse_address("unix:relative.sock", &err));
    CHECK(err.find("absolute") != std::string::npos);
    CHECK_FALSE(parse_address("127.0.0.1:0", &err));
    CHECK(parse_address("127.0.0.1:0", &err, /*allow_port_zero=*/true));
    std::string long_path(201, 'x');
    long_path[0] = '/';
    CHECK_FALSE(parse_unix_path(long_path, &err));
    CHECK(err.find("longer than") != std::string::npos);
}

TEST_CASE("resolve turns numeric addresses and unix paths into socket addresses") {
    std::string err;
    auto v4 = resolve(*parse_address("127.0.0.1:80", &err), &err);
    REQUIRE(v4.size() == 1);
    CHECK(v4[0].family() == AF_INET);
    CHECK(v4[0].to_string() == "127.0.0.1:80");
    auto un = resolve(*parse_address("unix:/tmp/x.sock", &err), &err);
    REQUIRE(un.size() == 1);
    CHECK(un[0].to_string() == "unix:/tmp/x.sock");
}

TEST_CASE("hash_peer_ip ignores the port and tells addresses apart") {
    sockaddr_in a{}, b{}, c{};
    a.sin_family = b.sin_family = c.sin_family = AF_INET;
    inet_pton(AF_INET, "10.0.0.1", &a.sin_addr);
    inet_pton(AF_INET, "10.0.0.1", &b.sin_addr);
    inet_pton(AF_INET, "10.0.0.2", &c.sin_addr);
    a.sin_port = htons(1000);
    b.sin_port = htons(2000);
    auto ha = hash_peer_ip(reinterpret_cast<sockaddr*>(&a), sizeof a);
    CHECK(ha != 0);
    CHECK(ha == hash_peer_ip(reinterpret_cast<sockaddr*>(&b), sizeof b));
    CHECK(ha != hash_peer_ip(reinterpret_cast<sockaddr*>(&c), sizeof c));
    sockaddr un{};
    un.sa_family = AF_UNIX;
    CHECK(hash_peer_ip(&un, sizeof(sa_family_t)) == 0);
}
