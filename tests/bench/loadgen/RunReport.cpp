#include "tests/bench/loadgen/RunReport.hpp"

#include <cinttypes>
#include <cstdarg>
#include <cstdio>

namespace switchyard::loadgen {

namespace {

struct Rates {
    double messages_per_s = 0;
    double mib_per_s = 0;  // payload echoed per second, one direction, framing included
};

Rates rates(const LoadgenOptions& o, const RunResult& r) {
    Rates out;
    if (r.measured_s > 0) {
        out.messages_per_s = static_cast<double>(r.stats.messages) / r.measured_s;
        out.mib_per_s = out.messages_per_s * static_cast<double>(o.size) / (1024.0 * 1024.0);
    }
    return out;
}

double us(std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

// printf-style formatting with the compiler checking the arguments against the format.
[[gnu::format(printf, 1, 2)]] std::string format(const char* fmt, ...) {
    char buffer[1024];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(buffer, sizeof buffer, fmt, args);
    va_end(args);
    return buffer;
}

// Readable duration from microseconds: "87 us", "1.25 ms".
std::string human_time(double microseconds) {
    if (microseconds < 1000) return format("%.0f us", microseconds);
    if (microseconds < 1e6) return format("%.2f ms", microseconds / 1000);
    return format("%.2f s", microseconds / 1e6);
}

// JSON string content for the few free-text fields (addresses): escape what JSON requires.
std::string json_escape(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20) {
            out += format("\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
            continue;
        }
        out += c;
    }
    return out;
}

}  // namespace

std::string summary_json(const LoadgenOptions& o, const RunResult& r) {
    const Rates rate = rates(o, r);
    const auto& s = r.stats;
    const auto& h = s.latency;
    return format(
               "{\"mode\":\"%s\",\"target\":\"%s\",\"framing\":\"%s\",\"threads\":%u,\"connections\":%u,"
               "\"pipeline\":%u,\"size\":%zu,\"duration_s\":%.3f,\"messages\":%" PRIu64
               ",\"messages_per_s\":%.1f,\"mib_per_s\":%.3f,",
               to_string(o.mode), json_escape(o.target).c_str(), to_string(o.framing), o.threads, o.connections,
               o.pipeline, o.size, r.measured_s, s.messages, rate.messages_per_s, rate.mib_per_s) +
           format("\"latency_us\":{\"p50\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f,\"mean\":%.1f},",
                  us(h.value_at_quantile(0.50)), us(h.value_at_quantile(0.99)), us(h.value_at_quantile(0.999)),
                  us(h.max()), h.mean() / 1000.0) +
           format("\"connected\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"connect_errors\":%" PRIu64
                  ",\"io_errors\":%" PRIu64 ",\"mismatches\":%" PRIu64 ",\"interrupted\":%s}",
                  s.connected, s.errors(), s.connect_errors, s.io_errors, s.mismatches,
                  r.interrupted ? "true" : "false");
}

std::string summary_line(const LoadgenOptions& o, const RunResult& r) {
    const Rates rate = rates(o, r);
    const auto& s = r.stats;
    const auto& h = s.latency;
    std::string mode = to_string(o.mode);
    if (o.mode == RunMode::pipelined) mode += format(" x%u", o.pipeline);
    std::string framing = o.framing == Framing::none ? "" : format(" %s-framed", to_string(o.framing));
    return format("%s, %u conns, %zu B%s via %s: %.0f msg/s, %.2f MiB/s, latency p50 %s p99 %s p99.9 %s, "
                  "errors %" PRIu64 " (connect %" PRIu64 ", io %" PRIu64 ", mismatch %" PRIu64 ")%s",
                  mode.c_str(), o.connections, o.size, framing.c_str(), o.target.c_str(), rate.messages_per_s,
                  rate.mib_per_s, human_time(us(h.value_at_quantile(0.50))).c_str(),
                  human_time(us(h.value_at_quantile(0.99))).c_str(),
                  human_time(us(h.value_at_quantile(0.999))).c_str(), s.errors(), s.connect_errors,
                  s.io_errors, s.mismatches, r.interrupted ? " [interrupted]" : "");
}

}  // namespace switchyard::loadgen
