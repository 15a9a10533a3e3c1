#include "config/MappingReader.hpp"

#include <algorithm>

#include "core/options/Suggest.hpp"

namespace switchyard {
namespace {

std::string known_list(std::span<const std::string_view> keys) {
    std::string out;
    for (std::string_view k : keys) {
        if (!out.empty()) out += ", ";
        out += k;
    }
    return out;
}

}  // namespace

MappingReader::MappingReader(YamlReader& reader, const YAML::Node& mapping, std::string path,
                             std::span<const std::string_view> known_keys, std::span<const MisplacedKey> misplaced)
    : reader_(reader), mapping_(mapping), path_(std::move(path)) {
    for (auto it = mapping.begin(); it != mapping.end(); ++it) {
        const YAML::Node key = it->first;
        if (!key.IsScalar()) {
            reader_.error(YamlReader::mark_of(key, path_),
                          "keys must be plain names, got " + YamlReader::describe(key));
            continue;
        }
        const std::string& name = key.Scalar();
        YamlField field{key, it->second, child_path(path_, name)};
        if (std::find(known_keys.begin(), known_keys.end(), name) == known_keys.end()) {
            auto elsewhere = std::find_if(misplaced.begin(), misplaced.end(),
                                          [&](const MisplacedKey& m) { return m.key == name; });
            if (elsewhere != misplaced.end()) {
                reader_.error(YamlReader::key_mark(field), std::string(elsewhere->message));
                continue;
            }
            auto suggestion = suggest(name, known_keys);
            reader_.error(YamlReader::key_mark(field),
                          suggestion ? "unknown key" + did_you_mean(suggestion)
                                     : "unknown key (expected one of: " + known_list(known_keys) + ")");
            continue;
        }
        auto [previous, inserted] = fields_.try_emplace(name, field);
        if (!inserted) {
            reader_.error(YamlReader::key_mark(field),
                          "duplicate key (first set at line " +
                              std::to_string(YamlReader::key_mark(previous->second).line) + ")");
        }
    }
}

std::optional<YamlField> MappingReader::field(std::string_view key) const {
    auto it = fields_.find(key);
    if (it == fields_.end()) return std::nullopt;
    return it->second;
}

std::optional<YamlField> MappingReader::required(std::string_view key) const {
    auto found = field(key);
    if (!found) reader_.error(mark(), "missing required key '" + std::string(key) + "'");
    return found;
}

std::string MappingReader::child_path(const std::string& parent, std::string_view key) {
    if (parent.empty()) return std::string(key);
    return parent + "." + std::string(key);
}

void MappingReader::read_name(std::string& name, SourceMark& where) const {
    auto f = required("name");
    if (!f) return;
    auto text = reader_.string(*f);
    if (!text) return;
    if (text->empty()) {
        reader_.error(YamlReader::value_mark(*f), "name must not be empty");
        return;
    }
    name = *text;
    where = YamlReader::value_mark(*f);
}

}  // namespace switchyard
