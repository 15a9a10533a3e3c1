#pragma once
// Command-line options of switchyard-loadgen: plain values, parsed once in main and then read
// by every thread (never written after parsing).
#include <cstddef>
#include <cstdint>
#include <string>

namespace switchyard::loadgen {

enum class RunMode {
    pingpong,   // one message in flight per connection: send, wait for the echo, repeat
    pipelined,  // `pipeline` messages in flight per connection
    hold,       // open the connections, one round trip each, then hold them idle
    server,     // echo server
};

enum class Framing {
    none,     // random bytes
    line,     // size-1 random printable bytes + '\n'
    length4,  // 4-byte big-endian payload length + size-4 random bytes
};

struct LoadgenOptions {
    RunMode mode = RunMode::pingpong;
    std::string target;             // client modes: "host:port" or "unix:/path", loopback only
    std::string listen;             // server mode: "host:port" or "unix:/path", loopback only
    unsigned threads = 1;           // one io_context per thread
    unsigned connections = 1;
    unsigned pipeline = 1;          // messages in flight per connection
    std::size_t size = 64;          // bytes per message on the wire, framing header included
    Framing framing = Framing::none;
    double duration_s = 5.0;        // measured window; hold: longest hold; server: 0 = until signal
    double warmup_s = 1.0;          // before the measured window (not counted)
    unsigned connect_concurrency = 128;  // connects in progress at once, all threads together
    std::uint64_t seed = 1;         // payload bytes are reproducible
};

struct ParsedOptions {
    LoadgenOptions options;
    bool help = false;
    std::string error;  // non-empty: the command line is wrong, this says why
};

// Parses argv. Thread rule: any thread (pure function).
ParsedOptions parse_loadgen_options(int argc, char** argv);

// The --help text. Thread rule: any thread.
std::string loadgen_usage();

const char* to_string(RunMode mode);
const char* to_string(Framing framing);

}  // namespace switchyard::loadgen
