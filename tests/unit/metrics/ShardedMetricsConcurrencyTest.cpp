#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include <prometheus/text_serializer.h>

#include "core/metrics/ShardedMetrics.hpp"

using namespace switchyard::metrics;

namespace {

// The number after `line_start` in the text (the start of the line, through the space); no
// Catch assertion here because the reader thread calls it (Catch 2 asserts on one thread only).
std::uint64_t sample_value(const std::string& text, const std::string& line_start) {
    auto at = text.find("\n" + line_start);
    if (at == std::string::npos) return ~std::uint64_t{0};
    return std::stoull(text.substr(at + 1 + line_start.size()));
}

std::string serialize(const ShardedMetrics& sharded) {
    return prometheus::TextSerializer().Serialize(sharded.Collect());
}

}  // namespace

TEST_CASE("sharded metrics sum exactly with one writer thread per shard while a reader scrapes") {
    constexpr std::size_t loops = 4;
    constexpr std::uint64_t increments = 200'000;
    ShardedMetrics registry(loops);
    Counter& ops = registry.counter("test_ops_total", "Ops.", {"kind"}).with({"all"});
    Gauge& active = registry.gauge("test_active", "Active.").with({});
    Histogram& sizes = registry.histogram("test_size_bytes", "Sizes.", {}, {1, 10, 100})
                           .with({});

    std::latch start(loops + 1);
    std::atomic<bool> writers_done{false};
    std::vector<std::uint64_t> seen;  // counter values the reader parsed, in order
    std::size_t count_mismatches = 0;  // scrapes where _count differed from the +Inf bucket
    std::thread reader([&] {
        start.arrive_and_wait();
        do {
            const std::string text = serialize(registry);
            seen.push_back(sample_value(text, "test_ops_total{kind=\"all\"} "));
            // _count must equal the +Inf bucket, even mid-update
            if (sample_value(text, "test_size_bytes_count ") !=
                sample_value(text, "test_size_bytes_bucket{le=\"+Inf\"} ")) {
                ++count_mismatches;
            }
        } while (!writers_done.load());
    });
    std::vector<std::thread> writers;
    for (std::size_t shard = 0; shard < loops; ++shard) {
        writers.emplace_back([&, shard] {
            start.arrive_and_wait();
            for (std::uint64_t i = 0; i < increments; ++i) {
                ops.inc(shard);
                active.inc(shard);
                sizes.observe(shard, static_cast<double>(i % 200));
                if (i % 2 == 0) active.dec(shard);
            }
        });
    }
    for (auto& writer : writers) writer.join();
    writers_done.store(true);
    reader.join();

    CHECK(ops.value() == loops * increments);
    CHECK(active.value() == static_cast<double>(loops * increments / 2));
    auto snapshot = sizes.snapshot();
    CHECK(snapshot.count() == loops * increments);
    // values 0..199 repeat: 2 in le=1, 11 in le=10, 101 in le=100, per 200
    CHECK(snapshot.cumulative_counts[0] == loops * increments / 200 * 2);
    CHECK(snapshot.cumulative_counts[2] == loops * increments / 200 * 101);
    CHECK(snapshot.sum == static_cast<double>(loops * increments / 200 * (199 * 200 / 2)));

    const std::string final_text = serialize(registry);
    CHECK(sample_value(final_text, "test_ops_total{kind=\"all\"} ") == loops * increments);
    // A scrape never sees a counter go backwards, nor beyond what was written.
    REQUIRE(!seen.empty());
    for (std::size_t i = 1; i < seen.size(); ++i) REQUIRE(seen[i - 1] <= seen[i]);
    CHECK(seen.back() <= loops * increments);
    CHECK(count_mismatches == 0);
}

TEST_CASE("children created from several threads at once are created once each") {
    ShardedMetrics registry(4);
    auto& family = registry.counter("test_total", "T.", {"key"});
    std::latch start(4);
    std::vector<std::thread> threads;
    std::vector<std::vector<Counter*>> found(4);
    for (std::size_t t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            start.arrive_and_wait();
            for (int k = 0; k < 500; ++k) {
                Counter& counter = family.with({std::to_string(k)});
                counter.inc(t);
                found[t].push_back(&counter);
            }
        });
    }
    for (auto& thread : threads) thread.join();
    CHECK(family.child_count() == 500);
    for (int k = 0; k < 500; ++k) {
        CHECK(found[0][k] == found[1][k]);
        CHECK(found[0][k] == found[3][k]);
        CHECK(found[0][k]->value() == 4);
    }
}
