#pragma once
// Shared by the config tests: load a document and look at its errors as the operator sees them.
#include <string>
#include <string_view>
#include <vector>

#include "config/ConfigLoader.hpp"

namespace switchyard::test {

// Every error as `switchyard --check-config` prints it, minus the file: "LINE:COL: PATH: MESSAGE".
inline std::vector<std::string> errors_of(std::string_view yaml) {
    std::vector<std::string> out;
    for (const ConfigError& e : load_config_string(yaml).errors) out.push_back(e.format());
    return out;
}

// A valid listener list, appended to documents that test something else.
inline constexpr std::string_view kEchoListener =
    "listeners:\n"
    "  - name: echo\n"
    "    listen: 127.0.0.1:0\n"
    "    handler: echo\n";

}  // namespace switchyard::test
