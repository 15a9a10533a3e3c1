#include "config/DurationParser.hpp"

#include <cstdint>
#include <limits>

namespace switchyard {
namespace {

struct Unit {
    std::string_view name;
    std::int64_t ms;
};

// Longest names first so "ms" is not read as "m" followed by garbage.
constexpr Unit kUnits[] = {{"ms", 1}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}};

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

std::optional<Duration> fail(std::string* error, std::string message) {
    if (error) *error = std::move(message);
    return std::nullopt;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::optional<Duration> parse_duration(std::string_view text, std::string* error) {
    const std::string quoted = "'" + std::string(text) + "'";
    if (text.empty()) return fail(error, "empty duration (expected e.g. 500ms, 3s, 5m, 1h)");
    if (text == "0") return Duration{0};
    if (text.front() == '-') return fail(error, "negative duration " + quoted + " is not allowed");
    if (text.front() == '+') text.remove_prefix(1);

    std::int64_t total = 0;
    std::string_view rest = text;
    while (!rest.empty()) {
        // Number: digits, optionally '.' and more digits.
        std::size_t i = 0;
        std::int64_t whole = 0;
        bool overflow = false;
        while (i < rest.size() && is_digit(rest[i])) {
            if (whole > (kMax - (rest[i] - '0')) / 10) overflow = true;
            else whole = whole * 10 + (rest[i] - '0');
            ++i;
        }
        std::string_view fraction;
        if (i < rest.size() && rest[i] == '.') {
            std::size_t start = ++i;
            while (i < rest.size() && is_digit(rest[i])) ++i;
            fraction = rest.substr(start, i - start);
        }
        if (i == 0 || (i == 1 && rest[0] == '.'))
            return fail(error, "bad duration " + quoted + " (expected e.g. 500ms, 3s, 5m, 1h)");
        rest.remove_prefix(i);

        // Unit: letters up to the next digit.
        std::size_t u = 0;
        while (u < rest.size() && !is_digit(rest[u]) && rest[u] != '.') ++u;
        std::string_view unit_text = rest.substr(0, u);
        rest.remove_prefix(u);
        if (unit_text.empty())
            return fail(error, "missing unit in duration " + quoted + " (expected ms, s, m or h, e.g. 3s)");
        const Unit* unit = nullptr;
        for (const Unit& candidate : kUnits)
            if (candidate.name == unit_text) unit = &candidate;
        if (!unit)
            return fail(error, "unknown unit '" + std::string(unit_text) + "' in duration " + quoted +
                                   " (expected ms, s, m or h)");

        if (overflow || whole > kMax / unit->ms) return fail(error, "duration " + quoted + " is too large");
        std::int64_t value = whole * unit->ms;
        // The fraction must come out as whole milliseconds: digits beyond the unit's resolution
        // must be zero.
        std::int64_t scale = unit->ms;
        for (char c : fraction) {
            int digit = c - '0';
            if (scale % 10 != 0) {
                if (digit != 0)
                    return fail(error, "duration " + quoted + " is finer than the 1ms resolution");
                continue;
            }
            scale /= 10;
            value += digit * scale;
        }
        if (value > kMax - total) return fail(error, "duration " + quoted + " is too large");
        total += value;
    }
    return Duration{total};
}

std::string format_duration(Duration d) {
    const auto ms = d.count();
    if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
    if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
    if (ms != 0 && ms % 1'000 == 0) return std::to_string(ms / 1'000) + "s";
    return std::to_string(ms) + "ms";
}

}  // namespace switchyard
