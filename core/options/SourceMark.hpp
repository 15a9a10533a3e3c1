#pragma once
// Where a value came from in the config file, so errors found after parsing (a codec plugin
// rejecting its options, a port already in use) can still name the YAML path and line.
#include <string>

namespace switchyard {

struct SourceMark {
    std::string path;  // YAML path, e.g. "listeners[1].codec"
    int line = 0;      // 1-based; 0 = unknown
    int column = 0;    // 1-based
};

}  // namespace switchyard
