#pragma once
// Runs the client modes (pingpong, pipelined, hold): builds the message pool, spreads the
// connections over --threads workers (one io_context each), stops them at the end of the window
// or on SIGINT/SIGTERM, and merges what they measured.
#include "tests/bench/loadgen/ClientStats.hpp"
#include "tests/bench/loadgen/LoadgenOptions.hpp"

namespace switchyard::loadgen {

struct RunResult {
    ClientStats stats;
    double measured_s = 0;     // length of the measured window (longest over the threads)
    bool interrupted = false;  // a signal ended the run early
};

// Blocks until the run is over. Thread rule: main thread (it installs the signal handlers).
RunResult run_load(const LoadgenOptions& options);

}  // namespace switchyard::loadgen
