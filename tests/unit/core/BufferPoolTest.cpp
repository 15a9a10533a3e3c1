#include <catch2/catch.hpp>

#include "core/loop/BufferPool.hpp"

using namespace switchyard;

TEST_CASE("buffers are reused and bounded by the retain limit") {
    BufferPool pool(64 * 1024);
    auto a = pool.acquire(16384);
    auto* first = a.data.get();
    CHECK(pool.borrowed() == 1);
    pool.release(std::move(a));
    CHECK(pool.borrowed() == 0);
    CHECK(pool.retained_bytes() == 16384);
    auto b = pool.acquire(16384);
    CHECK(b.data.get() == first);  // the same block came back
    std::vector<BufferPool::Block> many;
    for (int i = 0; i < 8; ++i) many.push_back(pool.acquire(16384));
    for (auto& m : many) pool.release(std::move(m));
    CHECK(pool.retained_bytes() <= 64 * 1024);  // the rest was freed, not hoarded
}
