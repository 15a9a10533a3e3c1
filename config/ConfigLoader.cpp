#include "config/ConfigLoader.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/ConfigSources.hpp"
#include "config/ConfigValidator.hpp"
#include "config/SectionReaders.hpp"
#include "config/YamlPitfalls.hpp"
#include "config/YamlReader.hpp"

namespace switchyard {
namespace {

ConfigLoadResult failed(std::vector<ConfigError> errors) {
    // Errors come from several passes (sections, then cross references); present them in file
    // order, as a reader scanning the file would meet them.
    std::stable_sort(errors.begin(), errors.end(), [](const ConfigError& a, const ConfigError& b) {
        return std::pair(a.where.line, a.where.column) < std::pair(b.where.line, b.where.column);
    });
    return ConfigLoadResult{std::nullopt, std::move(errors)};
}

ConfigLoadResult one_error(SourceMark where, std::string message) {
    return failed({ConfigError{std::move(where), std::move(message)}});
}

}  // namespace

ConfigLoadResult load_config_string(std::string_view yaml_text) {
    YAML::Node root;
    try {
        root = YAML::Load(std::string(yaml_text));
    } catch (const YAML::ParserException& e) {
        SourceMark where;
        std::string message = "YAML syntax error: " + e.msg;
        if (e.mark.line >= 0) {
            where.line = e.mark.line + 1;
            where.column = e.mark.column + 1;
            // listen: [::1]:7000 unquoted opens a flow list; say so instead of only "end of map
            // not found" (the error is reported on that line, or the next one).
            auto address = unquoted_ipv6_on_line(yaml_text, where.line);
            if (!address) address = unquoted_ipv6_on_line(yaml_text, where.line - 1);
            if (address) message += " (" + quote_ipv6_hint(*address) + "; unquoted, '[' starts a YAML list)";
        }
        return one_error(where, message);
    } catch (const YAML::Exception& e) {
        return one_error({}, std::string("YAML error: ") + e.what());
    }
    if (!root.IsDefined() || root.IsNull()) return one_error({}, "the configuration is empty");
    if (!root.IsMap()) {
        return one_error(YamlReader::mark_of(root, ""),
                         "the configuration must be a mapping of keys (loops, listeners, ...), got " +
                             YamlReader::describe(root));
    }

    std::vector<ConfigError> errors;
    Options options;
    ConfigSources sources;
    YamlReader reader(errors);
    read_options(reader, root, options, sources);
    ConfigValidator::check_cross_references(options, sources, errors);
    if (!errors.empty()) return failed(std::move(errors));
    return ConfigLoadResult{std::move(options), {}};
}

ConfigLoadResult load_config_file(const std::string& file) {
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec)) return one_error({}, "cannot read " + file + ": it is a directory");
    std::ifstream in(file, std::ios::binary);
    if (!in) return one_error({}, "cannot read " + file + ": " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return one_error({}, "cannot read " + file + ": " + std::strerror(errno));
    return load_config_string(text.str());
}

}  // namespace switchyard
