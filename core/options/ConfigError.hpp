#pragma once
// One problem found in a configuration, located by YAML path and line:column.
// Produced by config/ (schema, types, cross references) and by core/ checks that need the
// engine (codec plugins rejecting options); printed by `switchyard --check-config`.
#include <string>

#include "core/options/SourceMark.hpp"

namespace switchyard {

struct ConfigError {
    SourceMark where;     // path like "listeners[1].reuse_prot"; line/column 1-based, 0 = unknown
    std::string message;  // "unknown key (did you mean reuse_port?)"

    // "FILE:LINE:COL: PATH: MESSAGE" (file omitted when empty, line omitted when unknown)
    std::string format(const std::string& file = {}) const {
        std::string out;
        if (!file.empty()) out += file + ":";
        if (where.line > 0) out += std::to_string(where.line) + ":" + std::to_string(where.column) + ": ";
        else if (!file.empty()) out += " ";
        if (!where.path.empty()) out += where.path + ": ";
        out += message;
        return out;
    }
};

}  // namespace switchyard
