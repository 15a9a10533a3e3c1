#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "core/logging/LogRateLimiter.hpp"

using namespace switchyard;
using namespace std::chrono_literals;

// The limiter's own clock is what these test: no event can say "a window has passed", so they
// sleep past it (windows of 100 ms; a burst is over after 100 ms / 2 lines = 50 ms of quiet).

TEST_CASE("a burst lets the window's lines through and hands the rest to the summary once it is over") {
    LogRateLimiter limiter(2, 100ms);
    std::uint64_t suppressed = 99;
    REQUIRE(limiter.allow(&suppressed));
    CHECK(suppressed == 0);
    REQUIRE(limiter.allow(&suppressed));
    for (int i = 0; i < 38; ++i) CHECK_FALSE(limiter.allow(&suppressed));
    std::int64_t held_for = 0;
    // The burst may still be going on: a later line would carry the count.
    CHECK(limiter.take_ended_burst(&held_for) == 0);
    std::this_thread::sleep_for(60ms);
    CHECK(limiter.take_ended_burst(&held_for) == 38);
    CHECK(held_for >= 50'000'000);
    // Taken once: neither a second summary nor the next line repeats the count.
    CHECK(limiter.take_ended_burst(&held_for) == 0);
    std::this_thread::sleep_for(60ms);  // into the next window
    REQUIRE(limiter.allow(&suppressed));
    CHECK(suppressed == 0);
}

TEST_CASE("the first line of the next window carries what was held, and the summary then has nothing") {
    LogRateLimiter limiter(1, 100ms);
    std::uint64_t suppressed = 0;
    REQUIRE(limiter.allow(&suppressed));
    CHECK_FALSE(limiter.allow(&suppressed));
    CHECK_FALSE(limiter.allow(&suppressed));
    std::this_thread::sleep_for(110ms);
    REQUIRE(limiter.allow(&suppressed));
    CHECK(suppressed == 2);
    std::int64_t held_for = 0;
    CHECK(limiter.take_ended_burst(&held_for) == 0);
}
