#pragma once
// What one client thread measured. Each thread owns one and writes it without locks; the runner
// merges them after the threads are joined.
#include <cstdint>

#include "tests/bench/loadgen/LatencyHistogram.hpp"

namespace switchyard::loadgen {

struct ClientStats {
    LatencyHistogram latency;          // round trip of each message echoed in the window
    std::uint64_t messages = 0;        // messages echoed and verified inside the measured window
    std::uint64_t connected = 0;       // connections established
    std::uint64_t connect_errors = 0;  // connects that failed
    std::uint64_t io_errors = 0;       // resets, EOFs and write errors before the end of the run
    std::uint64_t mismatches = 0;      // echoes that differ from what was sent (or extra bytes)

    std::uint64_t errors() const { return connect_errors + io_errors + mismatches; }

    // Thread rule: caller ensures neither side is being written.
    void merge(const ClientStats& other) {
        latency.merge(other.latency);
        messages += other.messages;
        connected += other.connected;
        connect_errors += other.connect_errors;
        io_errors += other.io_errors;
        mismatches += other.mismatches;
    }
};

}  // namespace switchyard::loadgen
