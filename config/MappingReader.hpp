#pragma once
// One YAML mapping checked against the keys its section allows: unknown keys (with a
// did-you-mean), duplicate keys and non-string keys are recorded when it is built; then the
// section's reader looks its fields up by name, in whatever order it needs them.
#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "config/YamlReader.hpp"

namespace switchyard {

// A key that belongs to another kind of section, and what to say when it turns up here (rather
// than "unknown key").
struct MisplacedKey {
    std::string_view key;
    std::string_view message;
};

// Thread rule for every method: the thread running the load (one load is single-threaded).
class MappingReader {
public:
    // `mapping` must be a YAML map (check with YamlReader::expect_mapping first). A key in
    // `misplaced` is reported with its message and otherwise ignored, as an unknown key is.
    MappingReader(YamlReader& reader, const YAML::Node& mapping, std::string path,
                  std::span<const std::string_view> known_keys, std::span<const MisplacedKey> misplaced = {});

    const std::string& path() const { return path_; }
    // Where the mapping starts, for "missing required key" and whole-section problems.
    SourceMark mark() const { return YamlReader::mark_of(mapping_, path_); }

    // The first occurrence of `key`, when present.
    std::optional<YamlField> field(std::string_view key) const;
    // Like field(), but records "missing required key 'KEY'" when absent.
    std::optional<YamlField> required(std::string_view key) const;
    bool has(std::string_view key) const { return fields_.count(std::string(key)) > 0; }

    // The required, non-empty `name` key of a listener or upstream: stores it and where its
    // value stands (for later cross-reference errors), or records why it is unusable.
    void read_name(std::string& name, SourceMark& where) const;

    // "listeners[0]" + "name" -> "listeners[0].name"; "" + "tick" -> "tick".
    static std::string child_path(const std::string& parent, std::string_view key);

private:
    YamlReader& reader_;
    YAML::Node mapping_;
    std::string path_;
    std::map<std::string, YamlField, std::less<>> fields_;
};

}  // namespace switchyard
