#pragma once
// Byte sizes as written in the config: "64KiB", "1MiB", "512B", "4096", "10MB". The parser is
// the plugin SDK's (switchyard/units.hpp), so a codec option (max_frame: 1MB) and a daemon key
// (buffer_size: 1MB) accept the same spellings with the same meaning.
//
// parse_size(text, error): a plain integer is bytes; B, KiB, MiB, GiB, TiB are 1024-based and
// KB, MB, GB, TB are 1000-based (case-insensitive, one optional space before the unit).
// Returns nullopt and sets *error (when not null) to a sentence saying what is wrong.
// format_size(bytes): 16384 -> "16KiB", the shortest exact binary-unit text, for messages.
// Thread rule: any thread (pure functions).
#include "switchyard/units.hpp"

namespace switchyard {

using swy::format_size;
using swy::parse_size;

}  // namespace switchyard
