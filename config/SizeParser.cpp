#include "config/SizeParser.hpp"

#include <cctype>
#include <limits>

namespace switchyard {
namespace {

struct Unit {
    std::string_view name;
    std::uint64_t bytes;
};

constexpr std::uint64_t kKi = 1024;
constexpr Unit kUnits[] = {
    {"b", 1},
    {"kib", kKi},          {"mib", kKi * kKi},       {"gib", kKi * kKi * kKi},
    {"tib", kKi * kKi * kKi * kKi},
    {"kb", 1000},          {"mb", 1000'000},         {"gb", 1000'000'000},
    {"tb", 1000'000'000'000},
};

std::optional<std::uint64_t> fail(std::string* error, std::string message) {
    if (error) *error = std::move(message);
    return std::nullopt;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

}  // namespace

std::optional<std::uint64_t> parse_size(std::string_view text, std::string* error) {
    const std::string quoted = "'" + std::string(text) + "'";
    const std::string expected = " (expected bytes or a number with B, KiB, MiB, GiB, KB, MB or GB, e.g. 64KiB)";
    if (text.empty()) return fail(error, "empty size" + expected);
    if (text.front() == '-') return fail(error, "negative size " + quoted + " is not allowed");

    std::size_t i = 0;
    std::uint64_t number = 0;
    bool overflow = false;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        const std::uint64_t digit = static_cast<std::uint64_t>(text[i] - '0');
        if (number > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) overflow = true;
        else number = number * 10 + digit;
        ++i;
    }
    if (i == 0) return fail(error, "bad size " + quoted + expected);
    if (i < text.size() && text[i] == '.')
        return fail(error, "size " + quoted + " must be a whole number (write 1536KiB, not 1.5MiB)");
    std::string_view unit_text = text.substr(i);
    if (!unit_text.empty() && unit_text.front() == ' ') unit_text.remove_prefix(1);

    std::uint64_t multiplier = 1;
    if (!unit_text.empty()) {
        const std::string unit = lower(unit_text);
        const Unit* found = nullptr;
        for (const Unit& candidate : kUnits)
            if (candidate.name == unit) found = &candidate;
        if (!found) return fail(error, "unknown unit '" + std::string(unit_text) + "' in size " + quoted + expected);
        multiplier = found->bytes;
    }
    if (overflow || number > std::numeric_limits<std::uint64_t>::max() / multiplier)
        return fail(error, "size " + quoted + " is too large");
    return number * multiplier;
}

std::string format_size(std::uint64_t bytes) {
    static constexpr std::string_view kNames[] = {"TiB", "GiB", "MiB", "KiB"};
    static constexpr std::uint64_t kSizes[] = {kKi * kKi * kKi * kKi, kKi * kKi * kKi, kKi * kKi, kKi};
    for (std::size_t i = 0; i < 4; ++i)
        if (bytes != 0 && bytes % kSizes[i] == 0) return std::to_string(bytes / kSizes[i]) + std::string(kNames[i]);
    return std::to_string(bytes) + "B";
}

}  // namespace switchyard
