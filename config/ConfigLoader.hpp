#pragma once
// The configuration loader: YAML text or file -> validated Options, or every error found.
// yaml-cpp stays behind this header; callers see only option structs and ConfigError.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/DurationParser.hpp"
#include "config/SizeParser.hpp"
#include "core/options/ConfigError.hpp"
#include "core/options/Options.hpp"

namespace switchyard {

struct ConfigLoadResult {
    std::optional<Options> options;   // set only when errors is empty
    std::vector<ConfigError> errors;  // all problems of the file, ordered by line and column
    bool ok() const { return options.has_value(); }
};

// Parses and validates a whole document: syntax, schema (unknown keys, types, ranges, enums,
// addresses, durations, sizes) and cross references (names, upstream references, duplicate
// listen addresses). Codec plugin options are carried through unchecked (core/codec checks
// them, using the marks recorded in CodecOptions).
// Thread rule: any thread; independent calls may run concurrently.
ConfigLoadResult load_config_string(std::string_view yaml_text);

// Reads `file` and loads it like load_config_string; an unreadable file gives one error.
// Thread rule: any thread.
ConfigLoadResult load_config_file(const std::string& file);

}  // namespace switchyard
