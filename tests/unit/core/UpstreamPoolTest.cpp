#include <catch2/catch.hpp>

#include <map>

#include "core/net/AddressHash.hpp"
#include "core/proxy/UpstreamPool.hpp"

using namespace switchyard;

namespace {
UpstreamOptions upstream(BalancePolicy p, std::vector<EndpointOptions> eps) {
    UpstreamOptions o;
    o.name = std::string("u");  // assigning the literal trips GCC 12's false -Wrestrict (PR 105651)
    o.balancer = p;
    o.endpoints = std::move(eps);
    return o;
}
}  // namespace

TEST_CASE("weighted round-robin follows the weights smoothly") {
    UpstreamPool pool(upstream(BalancePolicy::round_robin,
                               {{"127.0.0.1:1001", 1}, {"127.0.0.1:1002", 2}, {"unix:/tmp/x.sock", 1}}),
                      1);
    std::map<std::size_t, int> count;
    std::vector<std::size_t> order;
    for (int i = 0; i < 8; ++i) {
        auto e = pool.pick(0, 0, 0);
        order.push_back(e);
        count[e]++;
    }
    CHECK(count == std::map<std::size_t, int>{{0, 2}, {1, 4}, {2, 2}});
    // Smooth: the heavy endpoint never gets both of its turns back to back within a cycle of 4.
    for (std::size_t i = 0; i + 1 < 4; ++i) CHECK_FALSE((order[i] == 1 && order[i + 1] == 1));
}

TEST_CASE("round-robin skips endpoints already tried by this connection") {
    UpstreamPool pool(upstream(BalancePolicy::round_robin, {{"127.0.0.1:1001", 1}, {"127.0.0.1:1002", 1}}), 1);
    auto first = pool.pick(0, 0, 0);
    auto second = pool.pick(0, 0, std::uint64_t{1} << first);
    CHECK(first != second);
}

TEST_CASE("max_fails failed connects eject an endpoint for fail_timeout; a success ends the count") {
    auto options = upstream(BalancePolicy::round_robin, {{"127.0.0.1:1001", 1}, {"127.0.0.1:1002", 1}});
    options.max_fails = 2;
    UpstreamPool pool(options, 1);
    pool.report_failure(0, UpstreamPool::Attempt::connect);
    CHECK(pool.usable_count() == 2);  // one failure of two allowed
    pool.report_success(0, UpstreamPool::Attempt::connect);
    pool.report_failure(0, UpstreamPool::Attempt::connect);
    CHECK(pool.usable_count() == 2);  // the success reset the count
    pool.report_failure(0, UpstreamPool::Attempt::connect);
    CHECK(pool.usable_count() == 1);
    CHECK(pool.endpoint(0).health->ejections[static_cast<int>(EjectionCause::max_fails)] == 1);
    for (int i = 0; i < 6; ++i) CHECK(pool.pick(0, 0, 0) == 1);
    // fail_timeout over (pretend): one connection may try it; a failure ejects it again at once.
    pool.endpoint(0).health->ejected_until_ns = 1;
    CHECK(pool.usable_count() == 2);
    pool.report_failure(0, UpstreamPool::Attempt::connect);
    CHECK(pool.usable_count() == 1);
    CHECK(pool.endpoint(0).health->ejections[static_cast<int>(EjectionCause::max_fails)] == 2);
    pool.endpoint(0).health->ejected_until_ns = 1;
    pool.report_success(0, UpstreamPool::Attempt::connect);
    CHECK(pool.endpoint(0).health->ejected_until_ns == 0);
    std::map<std::size_t, int> count;
    for (int i = 0; i < 6; ++i) count[pool.pick(0, 0, 0)]++;
    CHECK(count[0] == 3);
}

TEST_CASE("max_fails 0 never ejects") {
    auto options = upstream(BalancePolicy::round_robin, {{"127.0.0.1:1001", 1}, {"127.0.0.1:1002", 1}});
    options.max_fails = 0;
    UpstreamPool pool(options, 1);
    for (int i = 0; i < 10; ++i) pool.report_failure(0, UpstreamPool::Attempt::connect);
    CHECK(pool.usable_count() == 2);
}

TEST_CASE("an endpoint failed by health checks gets no new connections") {
    UpstreamPool pool(upstream(BalancePolicy::least_connections, {{"127.0.0.1:1001", 1}, {"127.0.0.1:1002", 1}}), 1);
    pool.endpoint(1).health->check_failed = true;
    pool.endpoint(1).active = 0;
    pool.endpoint(0).active = 100;
    for (int i = 0; i < 4; ++i) CHECK(pool.pick(0, 0, 0) == 0);
    // A retry goes back to the usable endpoint rather than to the unhealthy one.
    CHECK(pool.pick(0, 0, std::uint64_t{1} << 0) == 0);
    pool.endpoint(1).health->check_failed = false;
    CHECK(pool.pick(0, 0, 0) == 1);
}

TEST_CASE("with no usable endpoint, when_all_down decides: fail-open balances over all, reject picks none") {
    auto options = upstream(BalancePolicy::round_robin, {{"127.0.0.1:1001", 1}, {"127.0.0.1:1002", 1}});
    UpstreamPool open(options, 1);
    open.report_failure(0, UpstreamPool::Attempt::connect);
    open.report_failure(1, UpstreamPool::Attempt::connect);
    CHECK(open.usable_count() == 0);
    std::map<std::size_t, int> count;
    for (int i = 0; i < 4; ++i) count[open.pick(0, 0, 0)]++;
    CHECK(count == std::map<std::size_t, int>{{0, 2}, {1, 2}});
    CHECK(open.pick(0, 0, 0b11) != UpstreamPool::kNone);  // every endpoint tried: one again

    options.when_all_down = WhenAllDown::reject;
    UpstreamPool reject(options, 1);
    reject.endpoint(0).health->check_failed = true;
    CHECK(reject.pick(0, 0, 0) == 1);
    reject.endpoint(1).health->check_failed = true;
    CHECK(reject.pick(0, 0, 0) == UpstreamPool::kNone);
    reject.endpoint(0).health->check_failed = false;
    CHECK(reject.pick(0, 0, 0) == 0);

    UpstreamPool single(upstream(BalancePolicy::round_robin, {{"127.0.0.1:1001", 1}}), 1);
    single.report_failure(0, UpstreamPool::Attempt::connect);
    CHECK(single.pick(0, 0, 0) == 0);  // fail-open: better a retry than no attempt at all
}

TEST_CASE("source-addr-hash is sticky per client and moves when the endpoint is down") {
    UpstreamPool pool(upstream(BalancePolicy::source_addr_hash,
                               {{"127.0.0.1:1001", 1}, {"127.0.0.1:1002", 1}, {"127.0.0.1:1003", 1}}),
                      2);
    std::map<std::size_t, int> spread;
    for (std::uint64_t ip = 1; ip <= 300; ++ip) {
        auto h = mix64(ip);
        auto e = pool.pick(0, h, 0);
        REQUIRE(pool.pick(1, h, 0) == e);  // same answer on every loop
        spread[e]++;
    }
    CHECK(spread.size() == 3);
    auto h = mix64(42);
    auto usual = pool.pick(0, h, 0);
    pool.report_failure(usual, UpstreamPool::Attempt::connect);
    auto moved = pool.pick(0, h, 0);
    CHECK(moved != usual);
    CHECK(pool.pick(0, h, 0) == moved);
}

TEST_CASE("least-connections prefers the fewest active per unit of weight") {
    UpstreamPool pool(upstream(BalancePolicy::least_connections, {{"127.0.0.1:1001", 1}, {"127.0.0.1:1002", 3}}), 1);
    pool.endpoint(0).active = 2;
    pool.endpoint(1).active = 4;  // 4/3 < 2/1
    CHECK(pool.pick(0, 0, 0) == 1);
    pool.endpoint(1).active = 7;  // 7/3 > 2/1
    CHECK(pool.pick(0, 0, 0) == 0);
}

TEST_CASE("an unresolvable endpoint or a missing unix socket directory is a start-up error") {
    CHECK_THROWS_WITH(UpstreamPool(upstream(BalancePolicy::round_robin, {{"unix:/no/such/dir/x.sock", 1}}), 1),
                      Catch::Contains("directory /no/such/dir does not exist"));
    CHECK_THROWS_WITH(UpstreamPool(upstream(BalancePolicy::round_robin, {{"no-such-host.invalid:80", 1}}), 1),
                      Catch::Contains("cannot resolve 'no-such-host.invalid'"));
}
