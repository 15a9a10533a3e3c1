#include "core/metrics/SampleWriter.hpp"

#include "core/metrics/TextFormat.hpp"

namespace switchyard::metrics {

void SampleWriter::family(std::string_view name, std::string_view help, MetricType type) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    text_format::append_escaped_help(out_, help);
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type_word(type);
    out_ += '\n';
}

void SampleWriter::sample(std::string_view name, const Labels& labels, double value) {
    begin_sample(name, labels);
    text_format::append_double(out_, value);
    out_ += '\n';
}

void SampleWriter::rendered_sample(std::string_view name, std::string_view suffix,
                                   std::string_view first, std::string_view second,
                                   double value) {
    begin_rendered(name, suffix, first, second);
    text_format::append_double(out_, value);
    out_ += '\n';
}

void SampleWriter::rendered_sample(std::string_view name, std::string_view suffix,
                                   std::string_view first, std::string_view second,
                                   std::uint64_t value) {
    begin_rendered(name, suffix, first, second);
    end_sample_uint(value);
}

void SampleWriter::begin_sample(std::string_view name, const Labels& labels) {
    out_ += name;
    if (!labels.empty()) {
        out_ += '{';
        bool first = true;
        for (const auto& [label, value] : labels) {
            if (!first) out_ += ',';
            first = false;
            out_ += label;
            out_ += "=\"";
            text_format::append_escaped_label_value(out_, value);
            out_ += '"';
        }
        out_ += '}';
    }
    out_ += ' ';
}

void SampleWriter::begin_rendered(std::string_view name, std::string_view suffix,
                                  std::string_view first, std::string_view second) {
    out_ += name;
    out_ += suffix;
    if (!first.empty() || !second.empty()) {
        out_ += '{';
        out_ += first;
        if (!first.empty() && !second.empty()) out_ += ',';
        out_ += second;
        out_ += '}';
    }
    out_ += ' ';
}

void SampleWriter::end_sample_int(std::int64_t value) {
    text_format::append_int(out_, value);
    out_ += '\n';
}

void SampleWriter::end_sample_uint(std::uint64_t value) {
    text_format::append_uint(out_, value);
    out_ += '\n';
}

}  // namespace switchyard::metrics
