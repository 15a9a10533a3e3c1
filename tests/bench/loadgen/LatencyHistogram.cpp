#include "tests/bench/loadgen/LatencyHistogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace switchyard::loadgen {

std::size_t LatencyHistogram::bucket_index(std::uint64_t value) {
    constexpr std::uint64_t exact_limit = std::uint64_t{1} << exact_bits;
    if (value < exact_limit) return static_cast<std::size_t>(value);
    constexpr std::uint64_t top_limit = std::uint64_t{1} << (top_exponent + 1);
    if (value >= top_limit) value = top_limit - 1;
    const unsigned exponent = 63u - static_cast<unsigned>(std::countl_zero(value));  // >= exact_bits
    const unsigned shift = exponent - sub_bits;  // keeps the top sub_bits+1 bits
    const std::uint64_t sub = (value >> shift) - (std::uint64_t{1} << sub_bits);
    return static_cast<std::size_t>(exact_limit + (exponent - exact_bits) * (std::uint64_t{1} << sub_bits) + sub);
}

std::uint64_t LatencyHistogram::bucket_lower_bound(std::size_t index) {
    constexpr std::size_t exact_limit = std::size_t{1} << exact_bits;
    if (index < exact_limit) return index;
    const std::size_t j = index - exact_limit;
    const unsigned exponent = exact_bits + static_cast<unsigned>(j >> sub_bits);
    const std::uint64_t sub = (std::uint64_t{1} << sub_bits) + (j & ((std::size_t{1} << sub_bits) - 1));
    return sub << (exponent - sub_bits);
}

std::uint64_t LatencyHistogram::bucket_width(std::size_t index) {
    constexpr std::size_t exact_limit = std::size_t{1} << exact_bits;
    if (index < exact_limit) return 1;
    const unsigned exponent = exact_bits + static_cast<unsigned>((index - exact_limit) >> sub_bits);
    return std::uint64_t{1} << (exponent - sub_bits);
}

void LatencyHistogram::record(std::uint64_t nanoseconds) {
    ++buckets_[bucket_index(nanoseconds)];
    ++count_;
    sum_ += nanoseconds;
    min_ = std::min(min_, nanoseconds);
    max_ = std::max(max_, nanoseconds);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
    for (std::size_t i = 0; i < bucket_count; ++i) buckets_[i] += other.buckets_[i];
    count_ += other.count_;
    sum_ += other.sum_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
}

std::uint64_t LatencyHistogram::value_at_quantile(double q) const {
    if (count_ == 0) return 0;
    q = std::clamp(q, 0.0, 1.0);
    // Rank of the sample wanted, 1-based: the smallest value with at least q of samples <= it.
    auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
    rank = std::clamp<std::uint64_t>(rank, 1, count_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < bucket_count; ++i) {
        seen += buckets_[i];
        if (seen >= rank) {
            const std::uint64_t mid = bucket_lower_bound(i) + bucket_width(i) / 2;
            return std::clamp(mid, min(), max_);
        }
    }
    return max_;
}

}  // namespace switchyard::loadgen
