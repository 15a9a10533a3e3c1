#include "tests/bench/loadgen/LoadgenOptions.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "tests/bench/loadgen/LoopbackAddress.hpp"

namespace switchyard::loadgen {
namespace {

// Limits that keep a run bounded: the machine allows 20,000 open files per process.
constexpr unsigned max_connections = 18000;
constexpr unsigned max_threads = 64;
constexpr unsigned max_pipeline = 4096;
constexpr std::size_t max_size = 16u << 20;
constexpr double max_duration_s = 3600.0;

template <typename T>
std::optional<T> parse_unsigned(std::string_view text) {
    T value{};
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

std::optional<double> parse_seconds(std::string_view text) {
    // std::from_chars for double is in GCC 12's libstdc++; keep strtod for older ones' sake.
    std::string copy(text);
    char* end = nullptr;
    double value = std::strtod(copy.c_str(), &end);
    if (copy.empty() || end != copy.c_str() + copy.size() || !std::isfinite(value) || value < 0)
        return std::nullopt;
    return value;
}

}  // namespace

const char* to_string(RunMode mode) {
    switch (mode) {
        case RunMode::pingpong: return "pingpong";
        case RunMode::pipelined: return "pipelined";
        case RunMode::hold: return "hold";
        case RunMode::server: return "server";
    }
    return "?";
}

const char* to_string(Framing framing) {
    switch (framing) {
        case Framing::none: return "none";
        case Framing::line: return "line";
        case Framing::length4: return "length4";
    }
    return "?";
}

std::string loadgen_usage() {
    return R"(switchyard-loadgen: load generator and echo server for loopback benchmarks

Client:  switchyard-loadgen --target HOST:PORT|unix:/PATH [options]
  --mode pingpong|pipelined|hold  pingpong (default): one message in flight per connection;
                           pipelined: --pipeline K in flight (default 16);
                           hold: one round trip per connection, then hold them idle for
                           --duration seconds (or until SIGINT/SIGTERM), printing
                           {"event":"held",...} once all are established
  --connections N          connections (default 1, at most 18000)
  --pipeline K             messages in flight per connection (implies --mode pipelined if K>1)
  --size BYTES             bytes per message on the wire, framing included (default 64)
  --framing none|line|length4
                           none: random bytes; line: SIZE-1 printable bytes + '\n';
                           length4: 4-byte big-endian length + SIZE-4 bytes
  --duration S             measured seconds (default 5)
  --warmup S               seconds before measuring (default 1)
  --threads N              threads, one io_context each (default 1)
  --connect-concurrency N  connects in progress at once (default 128)
  --seed N                 payload seed (default 1)
Server:  switchyard-loadgen --server --listen HOST:PORT|unix:/PATH [--threads N] [--duration S]
  Echoes every byte back. Prints {"event":"listening","address":...} when ready; runs until
  SIGINT/SIGTERM, or --duration seconds if given.

Client output: one JSON line on stdout (the summary), one human line on stderr.
Every echoed byte is compared with what was sent; a mismatch counts as an error and closes that
connection. Targets and listen addresses must be loopback (127.0.0.0/8, ::1) or unix sockets.
)";
}

ParsedOptions parse_loadgen_options(int argc, char** argv) {
    ParsedOptions parsed;
    LoadgenOptions& o = parsed.options;
    bool mode_given = false;
    bool pipeline_given = false;
    bool duration_given = false;
    auto fail = [&](std::string message) {
        parsed.error = std::move(message);
        return parsed;
    };

    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        std::string_view value;
        // Accept both "--key value" and "--key=value".
        if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
            value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
        } else if (arg != "--help" && arg != "-h" && arg != "--server") {
            if (i + 1 >= argc) return fail(std::string(arg) + ": missing value");
            value = argv[++i];
        }
        auto bad = [&](std::string_view why) {
            return fail(std::string(arg) + ": " + std::string(why) + " (got '" + std::string(value) + "')");
        };

        if (arg == "--help" || arg == "-h") {
            parsed.help = true;
            return parsed;
        } else if (arg == "--server") {
            o.mode = RunMode::server;
            mode_given = true;
        } else if (arg == "--mode") {
            mode_given = true;
            if (value == "pingpong" || value == "ping-pong") o.mode = RunMode::pingpong;
            else if (value == "pipelined") o.mode = RunMode::pipelined;
            else if (value == "hold") o.mode = RunMode::hold;
            else if (value == "server") o.mode = RunMode::server;
            else return bad("expected pingpong, pipelined, hold or server");
        } else if (arg == "--target") {
            o.target = value;
        } else if (arg == "--listen") {
            o.listen = value;
        } else if (arg == "--threads") {
            auto v = parse_unsigned<unsigned>(value);
            if (!v || *v == 0 || *v > max_threads) return bad("expected 1.." + std::to_string(max_threads));
            o.threads = *v;
        } else if (arg == "--connections") {
            auto v = parse_unsigned<unsigned>(value);
            if (!v || *v == 0 || *v > max_connections)
                return bad("expected 1.." + std::to_string(max_connections));
            o.connections = *v;
        } else if (arg == "--pipeline") {
            auto v = parse_unsigned<unsigned>(value);
            if (!v || *v == 0 || *v > max_pipeline) return bad("expected 1.." + std::to_string(max_pipeline));
            o.pipeline = *v;
            pipeline_given = true;
        } else if (arg == "--size") {
            auto v = parse_unsigned<std::size_t>(value);
            if (!v || *v == 0 || *v > max_size) return bad("expected 1.." + std::to_string(max_size));
            o.size = *v;
        } else if (arg == "--framing") {
            if (value == "none") o.framing = Framing::none;
            else if (value == "line") o.framing = Framing::line;
            else if (value == "length4") o.framing = Framing::length4;
            else return bad("expected none, line or length4");
        } else if (arg == "--duration") {
            auto v = parse_seconds(value);
            if (!v || *v > max_duration_s) return bad("expected seconds in 0..3600");
            o.duration_s = *v;
            duration_given = true;
        } else if (arg == "--warmup") {
            auto v = parse_seconds(value);
            if (!v || *v > max_duration_s) return bad("expected seconds in 0..3600");
            o.warmup_s = *v;
        } else if (arg == "--connect-concurrency") {
            auto v = parse_unsigned<unsigned>(value);
            if (!v || *v == 0 || *v > max_connections) return bad("expected 1.." + std::to_string(max_connections));
            o.connect_concurrency = *v;
        } else if (arg == "--seed") {
            auto v = parse_unsigned<std::uint64_t>(value);
            if (!v) return bad("expected an unsigned integer");
            o.seed = *v;
        } else {
            return fail(std::string(arg) + ": unknown option (see --help)");
        }
    }

    if (!mode_given && pipeline_given && o.pipeline > 1) o.mode = RunMode::pipelined;
    if (o.mode == RunMode::pipelined && !pipeline_given) o.pipeline = 16;
    if (o.mode == RunMode::pingpong || o.mode == RunMode::hold) {
        if (pipeline_given && o.pipeline != 1)
            return fail(std::string("--pipeline ") + std::to_string(o.pipeline) + " needs --mode pipelined");
        o.pipeline = 1;
    }

    std::string address_error;
    if (o.mode == RunMode::server) {
        if (o.listen.empty()) return fail("--server needs --listen HOST:PORT or unix:/PATH");
        if (!parse_loopback_address(o.listen, /*allow_port_zero=*/true, &address_error))
            return fail("--listen: " + address_error);
        if (!duration_given) o.duration_s = 0;
        return parsed;
    }

    if (o.target.empty()) return fail("--target HOST:PORT or unix:/PATH is required (see --help)");
    if (!parse_loopback_address(o.target, /*allow_port_zero=*/false, &address_error))
        return fail("--target: " + address_error);
    if (o.duration_s <= 0 && o.mode != RunMode::hold) return fail("--duration must be > 0");
    if (o.framing == Framing::line && o.size < 2) return fail("--framing line needs --size >= 2");
    if (o.framing == Framing::length4 && o.size < 5) return fail("--framing length4 needs --size >= 5");
    if (static_cast<unsigned long long>(o.size) * o.pipeline > (64ull << 20))
        return fail("--size x --pipeline must stay under 64 MiB per connection");
    return parsed;
}

}  // namespace switchyard::loadgen
