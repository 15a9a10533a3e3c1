#include "config/CodecReader.hpp"

namespace switchyard {

std::optional<CodecOptions> read_codec(YamlReader& reader, const YamlField& field) {
    if (!reader.expect_mapping(field)) return std::nullopt;
    const std::size_t errors_before = reader.error_count();
    CodecOptions codec;
    codec.mark = YamlReader::value_mark(field);
    bool have_plugin = false;
    std::map<std::string, int> first_line;  // duplicate option keys
    for (auto it = field.value.begin(); it != field.value.end(); ++it) {
        const YAML::Node key = it->first;
        if (!key.IsScalar()) {
            reader.error(YamlReader::mark_of(key, field.path), "keys must be plain names, got " + YamlReader::describe(key));
            continue;
        }
        YamlField option{key, it->second, field.path + "." + key.Scalar()};
        const SourceMark key_mark = YamlReader::key_mark(option);
        auto [previous, inserted] = first_line.try_emplace(key.Scalar(), key_mark.line);
        if (!inserted) {
            reader.error(key_mark, "duplicate key (first set at line " + std::to_string(previous->second) + ")");
            continue;
        }
        if (key.Scalar() == "plugin") {
            have_plugin = true;
            if (auto name = reader.string(option)) {
                if (name->empty()) reader.error(YamlReader::value_mark(option), "plugin name must not be empty");
                codec.plugin = *name;
            }
            continue;
        }
        // Options reach the plugin as strings exactly as written; lists and mappings have no
        // string form, so they are refused here rather than flattened.
        if (!it->second.IsScalar()) {
            reader.error(YamlReader::value_mark(option),
                         "codec options must be scalar values (a string, number or boolean), got " +
                             YamlReader::describe(it->second));
            continue;
        }
        codec.options.emplace_back(key.Scalar(), it->second.Scalar());
        codec.option_marks[key.Scalar()] = YamlReader::value_mark(option);
    }
    if (!have_plugin) reader.error(codec.mark, "missing required key 'plugin'");
    if (reader.error_count() != errors_before) return std::nullopt;
    return codec;
}

}  // namespace switchyard
