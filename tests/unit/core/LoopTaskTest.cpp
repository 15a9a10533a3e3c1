#include <catch2/catch.hpp>

#include <array>
#include <memory>

#include "core/loop/LoopTask.hpp"

using namespace switchyard;

TEST_CASE("a loop task runs its capture and destroys it exactly once, inline or on the heap") {
    auto witness = std::make_shared<int>(0);
    SECTION("small capture, stored inline") {
        {
            LoopTask t([w = witness] { ++*w; });
            CHECK(witness.use_count() == 2);
            LoopTask moved(std::move(t));
            CHECK_FALSE(t);
            CHECK(witness.use_count() == 2);  // moved, not copied
            moved();
            moved();
            CHECK(*witness == 2);
        }
        CHECK(witness.use_count() == 1);
    }
    SECTION("large capture, stored on the heap") {
        std::array<char, 128> big{};
        big[5] = 7;
        {
            LoopTask t([w = witness, big] { *w += big[5]; });
            LoopTask other;
            other = std::move(t);
            other();
            CHECK(*witness == 7);
            CHECK(witness.use_count() == 2);
        }
        CHECK(witness.use_count() == 1);
    }
    SECTION("assigning over a task destroys the task it held") {
        LoopTask t([w = witness] {});
        t = LoopTask([] {});
        CHECK(witness.use_count() == 1);
    }
}
