// HandoffRing: the single-producer single-consumer ring that hands datagrams between loops.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "core/proxy/datagram/HandoffRing.hpp"

using switchyard::HandoffRing;

namespace {

std::vector<std::string> drain_all(HandoffRing& ring) {
    std::vector<std::string> out;
    ring.drain([&](const std::uint8_t* p, std::size_t n) { out.emplace_back(reinterpret_cast<const char*>(p), n); });
    return out;
}

}  // namespace

TEST_CASE("records come out whole and in order, head then payload", "[handoff]") {
    HandoffRing ring(4096);
    CHECK(ring.capacity() == 4096);
    CHECK(ring.push("ab", 2, "cde", 3));
    CHECK(ring.push("", 0, "", 0));
    CHECK(ring.push("x", 1, "yz", 2));
    CHECK(drain_all(ring) == std::vector<std::string>{"abcde", "", "xyz"});
    CHECK(drain_all(ring).empty());
}

TEST_CASE("a full ring refuses a record instead of waiting, and takes it once drained", "[handoff]") {
    HandoffRing ring(4096);
    std::string payload(1000, 'p');
    int pushed = 0;
    while (ring.push("h", 1, payload.data(), payload.size())) ++pushed;
    CHECK(pushed == 4);  // 4 x (8 + 1001, padded to 1016) fit in 4096, a fifth does not
    CHECK(drain_all(ring).size() == 4);
    CHECK(ring.push("h", 1, payload.data(), payload.size()));
}

TEST_CASE("records never straddle the end: a wrap marker skips it", "[handoff]") {
    HandoffRing ring(4096);
    std::string big(3000, 'a'), next(2000, 'b');
    REQUIRE(ring.push("", 0, big.data(), big.size()));
    REQUIRE(drain_all(ring).size() == 1);
    // 3008 bytes used at the front; 2008 more do not fit before the end: the record starts at 0.
    REQUIRE(ring.push("", 0, next.data(), next.size()));
    auto out = drain_all(ring);
    REQUIRE(out.size() == 1);
    CHECK(out[0] == next);
}

TEST_CASE("a wake is asked for once until the consumer clears it", "[handoff]") {
    HandoffRing ring(4096);
    CHECK(ring.try_claim_wake());
    CHECK_FALSE(ring.try_claim_wake());
    ring.clear_wake();
    CHECK(ring.try_claim_wake());
}

TEST_CASE("one producer and one consumer thread: every record arrives once, intact, in order", "[handoff]") {
    HandoffRing ring(1 << 16);
    constexpr std::uint32_t kRecords = 200000;
    std::thread producer([&] {
        for (std::uint32_t i = 0; i < kRecords;) {
            std::uint8_t payload[64];
            const std::size_t len = i % 61;
            std::memset(payload, static_cast<int>(i & 0xff), len);
            if (ring.push(&i, sizeof i, payload, len)) ++i;
            else std::this_thread::yield();
        }
    });
    std::uint32_t expected = 0;
    bool intact = true;
    while (expected < kRecords) {
        ring.drain([&](const std::uint8_t* p, std::size_t n) {
            std::uint32_t seq;
            std::memcpy(&seq, p, sizeof seq);
            if (seq != expected || n != sizeof seq + seq % 61) intact = false;
            for (std::size_t k = sizeof seq; k < n; ++k)
                if (p[k] != static_cast<std::uint8_t>(seq & 0xff)) intact = false;
            ++expected;
        });
    }
    producer.join();
    CHECK(intact);
    CHECK(expected == kRecords);
}
