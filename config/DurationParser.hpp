#pragma once
// Durations as written in the config: "500ms", "3s", "5m", "1h", "1.5s", "1m30s", or "0". The
// parser is the plugin SDK's (switchyard/units.hpp), so codec options and daemon keys share it.
//
// parse_duration(text, error): millisecond resolution; units ms, s, m, h; several groups may
// follow each other ("1h30m"); a fraction is allowed when the result is whole milliseconds
// ("1.5s", not "1.0005s"). A bare "0" means zero; any other number needs a unit. Negative values
// and overflow are refused. Returns nullopt and sets *error (when not null).
// format_duration(d): 3000ms -> "3s", the shortest exact text, for messages.
// Thread rule: any thread (pure functions).
#include "core/options/Options.hpp"
#include "switchyard/units.hpp"

namespace switchyard {

static_assert(std::is_same_v<Duration, std::chrono::milliseconds>, "config durations are the SDK's");
using swy::format_duration;
using swy::parse_duration;

}  // namespace switchyard
