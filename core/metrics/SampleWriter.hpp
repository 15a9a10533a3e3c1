#pragma once
// Appends families and samples in the Prometheus text format 0.0.4 to a string. The Registry
// hands one to every family and collector during serialize(); a collector writes whole families:
//
//     writer.family("process_open_fds", "Number of open file descriptors.", MetricType::gauge);
//     writer.sample("process_open_fds", {}, 12);
//
// Not thread-safe: one writer belongs to one serialize() call on one thread.
#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "core/metrics/Labels.hpp"
#include "core/metrics/MetricType.hpp"

namespace switchyard::metrics {

class SampleWriter {
public:
    explicit SampleWriter(std::string& out) : out_(out) {}

    // Writes the `# HELP` and `# TYPE` lines that start a family.
    void family(std::string_view name, std::string_view help, MetricType type);

    // Writes `name{labels} value`. Label values are escaped here; names are the caller's to
    // get right (collectors write fixed names).
    void sample(std::string_view name, const Labels& labels, double value);
    template <std::integral T>
    void sample(std::string_view name, const Labels& labels, T value) {
        begin_sample(name, labels);
        if constexpr (std::is_signed_v<T>) {
            end_sample_int(static_cast<std::int64_t>(value));
        } else {
            end_sample_uint(static_cast<std::uint64_t>(value));
        }
    }

    // Fast path for families: `name suffix{first,second} value` where `first` and `second` are
    // label text already rendered by text_format::append_label_pairs (either may be empty).
    void rendered_sample(std::string_view name, std::string_view suffix, std::string_view first,
                         std::string_view second, double value);
    void rendered_sample(std::string_view name, std::string_view suffix, std::string_view first,
                         std::string_view second, std::uint64_t value);

private:
    void begin_sample(std::string_view name, const Labels& labels);
    void begin_rendered(std::string_view name, std::string_view suffix, std::string_view first,
                        std::string_view second);
    void end_sample_int(std::int64_t value);
    void end_sample_uint(std::uint64_t value);

    std::string& out_;
};

}  // namespace switchyard::metrics
