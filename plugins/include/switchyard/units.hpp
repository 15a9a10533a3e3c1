// switchyard/units.hpp: how Switchyard spells sizes and durations, header-only, C++17.
//
// The daemon reads its own keys (buffer_size: 1MiB, idle_timeout: 5m) with these functions and
// the built-in codecs read their options (max_frame: 64KiB) with them too, so one spelling means
// one thing everywhere. A plugin that takes sizes or durations should use them as well:
//
//   std::string why;
//   auto max = swy::parse_size(options.find("max_frame"), &why);   // "64KiB" -> 65536
//   if (!max) throw swy::OptionError("max_frame", why);
//
// Sizes: a plain integer is bytes; B, KiB, MiB, GiB, TiB are 1024-based and KB, MB, GB, TB are
// 1000-based (compared case-insensitively, one optional space before the unit): 4096, 64KiB,
// 1MB, "16 KiB". Fractions, negative numbers and unknown units are refused.
// Durations: ms, s, m, h; several number+unit groups may follow each other (1m30s); a decimal
// fraction is allowed when the result is whole milliseconds (1.5s); a bare 0 means zero and any
// other number needs a unit. Negative values are refused.
//
// Every function is pure: any thread. A parse failure returns nullopt and sets *error (when not
// null) to one sentence saying what is wrong, without the option's name.
#ifndef SWITCHYARD_UNITS_HPP
#define SWITCHYARD_UNITS_HPP

#include <cctype>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace swy {

namespace detail {

// Sets *error (when not null) and returns "no value".
template <class T>
std::optional<T> fail(std::string* error, std::string message) {
    if (error) *error = std::move(message);
    return std::nullopt;
}

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace detail

// A byte count: "4096", "512B", "64KiB", "1MiB", "10KB", "1MB", "16 KiB" (see above).
inline std::optional<std::uint64_t> parse_size(std::string_view text, std::string* error) {
    struct Unit {
        std::string_view name;  // lower case
        std::uint64_t bytes;
    };
    constexpr std::uint64_t kKi = 1024;
    constexpr Unit kUnits[] = {
        {"b", 1},
        {"kib", kKi},  {"mib", kKi * kKi},   {"gib", kKi * kKi * kKi}, {"tib", kKi * kKi * kKi * kKi},
        {"kb", 1000},  {"mb", 1000'000},     {"gb", 1000'000'000},     {"tb", 1000'000'000'000},
    };
    auto fail = [error](std::string message) { return detail::fail<std::uint64_t>(error, std::move(message)); };
    const std::string quoted = "'" + std::string(text) + "'";
    const std::string expected = " (expected bytes or a number with B, KiB, MiB, GiB, KB, MB or GB, e.g. 64KiB)";
    if (text.empty()) return fail("empty size" + expected);
    if (text.front() == '-') return fail("negative size " + quoted + " is not allowed");

    std::size_t i = 0;
    std::uint64_t number = 0;
    bool overflow = false;
    while (i < text.size() && detail::is_digit(text[i])) {
        const std::uint64_t digit = static_cast<std::uint64_t>(text[i] - '0');
        if (number > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) overflow = true;
        else number = number * 10 + digit;
        ++i;
    }
    if (i == 0) return fail("bad size " + quoted + expected);
    if (i < text.size() && text[i] == '.')
        return fail("size " + quoted + " must be a whole number (write 1536KiB, not 1.5MiB)");
    std::string_view unit_text = text.substr(i);
    if (!unit_text.empty() && unit_text.front() == ' ') unit_text.remove_prefix(1);

    std::uint64_t multiplier = 1;
    if (!unit_text.empty()) {
        std::string unit(unit_text);
        for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        const Unit* found = nullptr;
        for (const Unit& candidate : kUnits)
            if (candidate.name == unit) found = &candidate;
        if (!found)
            return fail("unknown unit '" + std::string(unit_text) + "' in size " + quoted + expected);
        multiplier = found->bytes;
    }
    if (overflow || number > std::numeric_limits<std::uint64_t>::max() / multiplier)
        return fail("size " + quoted + " is too large");
    return number * multiplier;
}

// 16384 -> "16KiB", 1000 -> "1000B": the shortest exact binary-unit text, for messages.
inline std::string format_size(std::uint64_t bytes) {
    constexpr std::uint64_t kKi = 1024;
    constexpr std::string_view kNames[] = {"TiB", "GiB", "MiB", "KiB"};
    constexpr std::uint64_t kSizes[] = {kKi * kKi * kKi * kKi, kKi * kKi * kKi, kKi * kKi, kKi};
    for (std::size_t i = 0; i < 4; ++i)
        if (bytes != 0 && bytes % kSizes[i] == 0) return std::to_string(bytes / kSizes[i]) + std::string(kNames[i]);
    return std::to_string(bytes) + "B";
}

// A duration with millisecond resolution: "500ms", "3s", "5m", "1h", "1m30s", "1.5s", "0".
inline std::optional<std::chrono::milliseconds> parse_duration(std::string_view text, std::string* error) {
    struct Unit {
        std::string_view name;
        std::int64_t ms;
    };
    // Longest names first so "ms" is not read as "m" followed by garbage.
    constexpr Unit kUnits[] = {{"ms", 1}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}};
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
    const std::string quoted = "'" + std::string(text) + "'";
    auto fail = [error](std::string message) {
        return detail::fail<std::chrono::milliseconds>(error, std::move(message));
    };
    if (text.empty()) return fail("empty duration (expected e.g. 500ms, 3s, 5m, 1h)");
    if (text == "0") return std::chrono::milliseconds{0};
    if (text.front() == '-') return fail("negative duration " + quoted + " is not allowed");
    if (text.front() == '+') text.remove_prefix(1);

    std::int64_t total = 0;
    std::string_view rest = text;
    while (!rest.empty()) {
        // Number: digits, optionally '.' and more digits.
        std::size_t i = 0;
        std::int64_t whole = 0;
        bool overflow = false;
        while (i < rest.size() && detail::is_digit(rest[i])) {
            if (whole > (kMax - (rest[i] - '0')) / 10) overflow = true;
            else whole = whole * 10 + (rest[i] - '0');
            ++i;
        }
        std::string_view fraction;
        if (i < rest.size() && rest[i] == '.') {
            std::size_t start = ++i;
            while (i < rest.size() && detail::is_digit(rest[i])) ++i;
            fraction = rest.substr(start, i - start);
        }
        if (i == 0 || (i == 1 && rest[0] == '.'))
            return fail("bad duration " + quoted + " (expected e.g. 500ms, 3s, 5m, 1h)");
        rest.remove_prefix(i);

        // Unit: letters up to the next digit.
        std::size_t u = 0;
        while (u < rest.size() && !detail::is_digit(rest[u]) && rest[u] != '.') ++u;
        std::string_view unit_text = rest.substr(0, u);
        rest.remove_prefix(u);
        if (unit_text.empty())
            return fail("missing unit in duration " + quoted + " (expected ms, s, m or h, e.g. 3s)");
        const Unit* unit = nullptr;
        for (const Unit& candidate : kUnits)
            if (candidate.name == unit_text) unit = &candidate;
        if (!unit)
            return fail("unknown unit '" + std::string(unit_text) + "' in duration " + quoted +
                        " (expected ms, s, m or h)");

        if (overflow || whole > kMax / unit->ms) return fail("duration " + quoted + " is too large");
        std::int64_t value = whole * unit->ms;
        // The fraction must come out as whole milliseconds: digits beyond the unit's resolution
        // must be zero.
        std::int64_t scale = unit->ms;
        for (char c : fraction) {
            int digit = c - '0';
            if (scale % 10 != 0) {
                if (digit != 0) return fail("duration " + quoted + " is finer than the 1ms resolution");
                continue;
            }
            scale /= 10;
            value += digit * scale;
        }
        if (value > kMax - total) return fail("duration " + quoted + " is too large");
        total += value;
    }
    return std::chrono::milliseconds{total};
}

// 1500ms -> "1500ms", 3000ms -> "3s", 90000ms -> "90s": the shortest exact text, for messages.
inline std::string format_duration(std::chrono::milliseconds d) {
    const auto ms = d.count();
    if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
    if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
    if (ms != 0 && ms % 1'000 == 0) return std::to_string(ms / 1'000) + "s";
    return std::to_string(ms) + "ms";
}

}  // namespace swy

#endif  // SWITCHYARD_UNITS_HPP
