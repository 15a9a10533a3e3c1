#include <catch2/catch.hpp>

#include "PeerAddressForTest.hpp"

#include <atomic>
#include <thread>
#include <vector>

#include "core/proxy/ConnectionRateLimiter.hpp"
#include "core/proxy/PerIpConnections.hpp"

#include <arpa/inet.h>

using namespace switchyard;
using switchyard::test::ip_peer;

namespace {
constexpr std::int64_t kSecond = 1'000'000'000;
constexpr std::int64_t kStart = 1000 * kSecond;

}  // namespace

TEST_CASE("rate limiter: a full bucket lets a burst through, then one per interval", "[proxy][rate_limit]") {
    ConnectionRateLimiter limiter;
    int allowed = 0;
    for (int i = 0; i < 50; ++i) allowed += limiter.try_acquire(10, 5, kStart);
    CHECK(allowed == 5);  // burst
    // 10 a second: one token back every 100 ms.
    CHECK_FALSE(limiter.try_acquire(10, 5, kStart + kSecond / 10 - 1));
    CHECK(limiter.try_acquire(10, 5, kStart + kSecond / 10));
    CHECK_FALSE(limiter.try_acquire(10, 5, kStart + kSecond / 10));
    // Idle for long: the bucket refills to the burst, no further.
    allowed = 0;
    for (int i = 0; i < 50; ++i) allowed += limiter.try_acquire(10, 5, kStart + 60 * kSecond);
    CHECK(allowed == 5);
}

TEST_CASE("rate limiter: over a long run the rate is what was configured", "[proxy][rate_limit]") {
    ConnectionRateLimiter limiter;
    int allowed = 0;
    // Offered: one attempt per millisecond for 10 s; limit 100/s with a burst of 20.
    for (std::int64_t ms = 0; ms < 10'000; ++ms) allowed += limiter.try_acquire(100, 20, kStart + ms * 1'000'000);
    CHECK(allowed >= 1000);
    CHECK(allowed <= 1020);
}

TEST_CASE("rate limiter: a burst of 1 means evenly spaced; 0 per second means no limit", "[proxy][rate_limit]") {
    ConnectionRateLimiter limiter;
    CHECK(limiter.try_acquire(2, 1, kStart));
    CHECK_FALSE(limiter.try_acquire(2, 1, kStart + kSecond / 4));
    CHECK(limiter.try_acquire(2, 1, kStart + kSecond / 2));
    ConnectionRateLimiter unlimited;
    for (int i = 0; i < 1000; ++i) REQUIRE(unlimited.try_acquire(0, 0, kStart));
}

TEST_CASE("rate limiter: threads racing for one bucket take exactly the burst", "[proxy][rate_limit]") {
    ConnectionRateLimiter limiter;
    std::atomic<int> allowed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 1000; ++i)
                if (limiter.try_acquire(1, 100, kStart)) allowed.fetch_add(1);
        });
    for (auto& t : threads) t.join();
    CHECK(allowed.load() == 100);
}

TEST_CASE("per-IP counts: a limit per address, given back on release", "[proxy][per_ip]") {
    PerIpConnections counts;
    const PeerAddress a = ip_peer("192.0.2.1"), b = ip_peer("192.0.2.2");
    CHECK(counts.try_acquire(a, 2));
    CHECK(counts.try_acquire(a, 2));
    CHECK_FALSE(counts.try_acquire(a, 2));
    CHECK(counts.try_acquire(b, 2));
    CHECK(counts.open(a) == 2);
    counts.release(a);
    CHECK(counts.open(a) == 1);
    CHECK(counts.try_acquire(a, 2));
    counts.release(a);
    counts.release(a);
    CHECK(counts.open(a) == 0);
    counts.release(a);  // more releases than acquires change nothing
    CHECK(counts.open(a) == 0);
    // The port is not part of the key: another connection from the same host.
    PeerAddress a_other_port = a;
    a_other_port.addr.in.sin_port = htons(1234);
    CHECK(counts.try_acquire(a_other_port, 1));
    CHECK_FALSE(counts.try_acquire(a, 1));
}

TEST_CASE("per-IP counts: IPv4 and its mapped IPv6 form are one client; unix peers are not counted",
          "[proxy][per_ip]") {
    PerIpConnections counts;
    PeerAddress mapped;
    mapped.addr.in6.sin6_family = AF_INET6;
    inet_pton(AF_INET6, "::ffff:192.0.2.1", &mapped.addr.in6.sin6_addr);
    CHECK(counts.try_acquire(ip_peer("192.0.2.1"), 1));
    CHECK_FALSE(counts.try_acquire(mapped, 1));
    const PeerAddress unix_client = test::unix_peer();
    for (int i = 0; i < 10; ++i) CHECK(counts.try_acquire(unix_client, 1));
    CHECK(counts.open(unix_client) == 0);
}
