#pragma once
// Durations as written in the config: "500ms", "3s", "5m", "1h", "1.5s", "1m30s", or "0".
#include <optional>
#include <string>
#include <string_view>

#include "core/options/Options.hpp"

namespace switchyard {

// Parses a duration with millisecond resolution. Units: ms, s, m, h; several number+unit groups
// may follow each other ("1h30m"); a decimal fraction is allowed when the result is a whole
// number of milliseconds ("1.5s", not "1.0005s"). A bare "0" means zero; any other number needs a
// unit, so "5" is refused rather than guessed. Negative values and overflow are refused.
// Returns nullopt and sets *error (when not null) to a sentence saying what is wrong.
// Thread rule: any thread (pure function).
std::optional<Duration> parse_duration(std::string_view text, std::string* error);

// "1500ms" -> "1500ms", 3000ms -> "3s", 90000ms -> "90s": the shortest exact text, for messages.
// Thread rule: any thread (pure function).
std::string format_duration(Duration d);

}  // namespace switchyard
