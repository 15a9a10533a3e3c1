#pragma once
// Typed getters over yaml-cpp nodes that record every problem instead of throwing, so one pass
// over a file reports all of its errors. Internal to config/ (yaml-cpp stays out of the public
// headers).
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/options/ConfigError.hpp"
#include "core/options/Options.hpp"

namespace switchyard {

// One key/value pair of a mapping (or one list element, with a null key), and its YAML path.
struct YamlField {
    YAML::Node key;    // null for list elements
    YAML::Node value;
    std::string path;  // "listeners[1].reuse_port"
};

// Owned by one load; not shared between threads. Thread rule for every method: the thread
// running the load (any thread, one at a time).
class YamlReader {
public:
    explicit YamlReader(std::vector<ConfigError>& errors) : errors_(errors) {}

    void error(SourceMark where, std::string message);
    std::size_t error_count() const { return errors_.size(); }

    // yaml-cpp marks are 0-based; ours are 1-based with 0 meaning unknown.
    static SourceMark mark_of(const YAML::Node& node, std::string path);
    // Where to point for a problem with the value: the value itself, or its key when the value is
    // empty (yaml-cpp places an empty value's mark on the next token, often the next line).
    static SourceMark value_mark(const YamlField& field);
    static SourceMark key_mark(const YamlField& field);

    // "mapping", "list", "empty value", "string 'abc'", "integer 5", "boolean true", "number 1.5"
    static std::string describe(const YAML::Node& node);

    bool expect_mapping(const YamlField& field);
    bool expect_list(const YamlField& field);

    // Any scalar, as written (plain numbers included: `name: 123` is the name "123").
    std::optional<std::string> string(const YamlField& field);
    // A plain (unquoted) non-negative integer within [min, max].
    std::optional<std::uint64_t> unsigned_integer(const YamlField& field, std::uint64_t min, std::uint64_t max);
    // true/false (also yes/no, on/off as YAML 1.1 spells them), unquoted.
    std::optional<bool> boolean(const YamlField& field);
    // parse_duration, then the range [min, max].
    std::optional<Duration> duration(const YamlField& field, Duration min, Duration max);
    // parse_size, then the range [min, max].
    std::optional<std::uint64_t> size(const YamlField& field, std::uint64_t min, std::uint64_t max);
    // Index of the value in `allowed`; unknown values are reported with the list and a suggestion.
    std::optional<std::size_t> choice(const YamlField& field, std::span<const std::string_view> allowed);
    // A file mode read as octal digits like chmod takes them: 660, "0660", 0o660; at most 07777.
    std::optional<std::uint32_t> file_mode(const YamlField& field);

private:
    // The scalar's text, or nullopt after recording "expected WHAT, got ...".
    std::optional<std::string> scalar(const YamlField& field, std::string_view what);

    std::vector<ConfigError>& errors_;
};

}  // namespace switchyard
