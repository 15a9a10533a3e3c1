#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "core/logging/LogRateLimiter.hpp"

using namespace switchyard;

TEST_CASE("a burst lets one line through and hands the rest to the summary once it is over") {
    LogRateLimiter limiter(20);  // one line per 50 ms
    std::uint64_t suppressed = 99;
    REQUIRE(limiter.allow(&suppressed));
    CHECK(suppressed == 0);
    for (int i = 0; i < 39; ++i) CHECK_FALSE(limiter.allow(&suppressed));
    std::int64_t held_for = 0;
    // Still inside the burst's interval: the next line let through may yet carry the count.
    CHECK(limiter.take_ended_burst(&held_for) == 0);
    // The limiter's own clock is what is tested: no event can say "an interval has passed".
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    CHECK(limiter.take_ended_burst(&held_for) == 39);
    CHECK(held_for >= 50'000'000);
    // Taken once: neither a second summary nor the next line repeats the count.
    CHECK(limiter.take_ended_burst(&held_for) == 0);
    REQUIRE(limiter.allow(&suppressed));
    CHECK(suppressed == 0);
}

TEST_CASE("a line let through carries what was held before it, and the summary then has nothing") {
    LogRateLimiter limiter(20);
    std::uint64_t suppressed = 0;
    REQUIRE(limiter.allow(&suppressed));
    CHECK_FALSE(limiter.allow(&suppressed));
    CHECK_FALSE(limiter.allow(&suppressed));
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    REQUIRE(limiter.allow(&suppressed));
    CHECK(suppressed == 2);
    std::int64_t held_for = 0;
    CHECK(limiter.take_ended_burst(&held_for) == 0);
}
