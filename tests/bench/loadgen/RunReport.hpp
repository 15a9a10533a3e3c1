#pragma once
// Formats a client run: one JSON line for scripts, one line for people.
#include <string>

#include "tests/bench/loadgen/LoadRunner.hpp"
#include "tests/bench/loadgen/LoadgenOptions.hpp"

namespace switchyard::loadgen {

// Thread rule: any thread (pure functions).
std::string summary_json(const LoadgenOptions& options, const RunResult& result);
std::string summary_line(const LoadgenOptions& options, const RunResult& result);

}  // namespace switchyard::loadgen
