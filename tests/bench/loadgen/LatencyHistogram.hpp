#pragma once
// Latency histogram with logarithmic buckets, HDR-style: exact below 128 ns, then 64 linear
// sub-buckets per power of two (about 1.6 % resolution) up to 2^44 ns (~4.9 hours). The bucket
// array is fixed at construction: recording never allocates, so samples cost no heap growth.
// One histogram per thread; they are merged once after the run.
#include <array>
#include <cstdint>

namespace switchyard::loadgen {

class LatencyHistogram {
public:
    // Records one sample in nanoseconds (values above the range land in the top bucket).
    // Thread rule: owning thread only.
    void record(std::uint64_t nanoseconds);

    // Adds another histogram's samples. Thread rule: caller ensures neither is being recorded.
    void merge(const LatencyHistogram& other);

    // The value at quantile q in [0, 1], in nanoseconds: the midpoint of the bucket holding it,
    // clamped to [min, max]. 0 when empty. Thread rule: owning thread only.
    std::uint64_t value_at_quantile(double q) const;

    std::uint64_t count() const { return count_; }  // thread rule: owning thread only
    std::uint64_t min() const { return count_ ? min_ : 0; }
    std::uint64_t max() const { return max_; }
    double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0; }

    // Bucket arithmetic, public so tests and readers can check it. Thread rule: any thread.
    static std::size_t bucket_index(std::uint64_t value);
    static std::uint64_t bucket_lower_bound(std::size_t index);
    static std::uint64_t bucket_width(std::size_t index);

    static constexpr unsigned exact_bits = 7;  // values below 2^7 have a bucket each
    static constexpr unsigned sub_bits = exact_bits - 1;  // 64 sub-buckets per octave above
    static constexpr unsigned top_exponent = 43;          // highest octave: [2^43, 2^44)
    static constexpr std::size_t bucket_count =
        (std::size_t{1} << exact_bits) + (top_exponent - exact_bits + 1) * (std::size_t{1} << sub_bits);

private:
    std::array<std::uint64_t, bucket_count> buckets_{};
    std::uint64_t count_ = 0;
    std::uint64_t sum_ = 0;
    std::uint64_t min_ = UINT64_MAX;
    std::uint64_t max_ = 0;
};

}  // namespace switchyard::loadgen
