#include <catch2/catch.hpp>

#include <map>

#include "core/loop/LoopBalancer.hpp"
#include "core/loop/LoopGroup.hpp"
#include "core/net/AddressHash.hpp"

using namespace switchyard;

TEST_CASE("round-robin spreads 100 picks over 4 loops 25/25/25/25") {
    LoopGroup loops(4);
    LoopBalancer b(BalancePolicy::round_robin, loops);
    std::map<std::size_t, int> count;
    for (int i = 0; i < 100; ++i) count[b.pick(mix64(i))]++;
    CHECK(count == std::map<std::size_t, int>{{0, 25}, {1, 25}, {2, 25}, {3, 25}});
}

TEST_CASE("source-addr-hash sends one client IP to one loop, many IPs to many loops") {
    LoopGroup loops(4);
    LoopBalancer b(BalancePolicy::source_addr_hash, loops);
    std::map<std::size_t, int> count;
    for (std::uint64_t ip = 1; ip <= 400; ++ip) {
        auto first = b.pick(mix64(ip));
        for (int k = 0; k < 5; ++k) REQUIRE(b.pick(mix64(ip)) == first);
        count[first]++;
    }
    REQUIRE(count.size() == 4);
    for (auto& [loop, n] : count) CHECK(n > 60);  // roughly even: 100 expected each
}

TEST_CASE("source-addr-hash without an address (unix peers) falls back to round-robin") {
    LoopGroup loops(2);
    LoopBalancer b(BalancePolicy::source_addr_hash, loops);
    CHECK(b.pick(0) != b.pick(0));
}

TEST_CASE("least-connections picks the loop with the fewest assigned connections") {
    LoopGroup loops(4);
    LoopBalancer b(BalancePolicy::least_connections, loops);
    loops.at(0).add_load(5);
    loops.at(1).add_load(2);
    loops.at(2).add_load(7);
    loops.at(3).add_load(3);
    CHECK(b.pick(0) == 1);
    loops.at(1).add_load(2);  // now 4: loop 3 (3) is the least
    CHECK(b.pick(0) == 3);
    // Equal loads: ties rotate instead of always landing on loop 0.
    LoopGroup even(3);
    LoopBalancer e(BalancePolicy::least_connections, even);
    std::map<std::size_t, int> count;
    for (int i = 0; i < 30; ++i) {
        auto l = e.pick(0);
        even.at(l).add_load(1);
        count[l]++;
    }
    CHECK(count == std::map<std::size_t, int>{{0, 10}, {1, 10}, {2, 10}});
}
