#pragma once
// Byte sizes as written in the config: "64KiB", "1MiB", "512B", "4096", "10MB".
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace switchyard {

// Parses a byte count. A plain integer is bytes; units B, KiB, MiB, GiB, TiB are 1024-based and
// KB, MB, GB, TB are 1000-based (units compare case-insensitively, one optional space before the
// unit). Fractions, negative numbers, unknown units and values above 2^64-1 are refused.
// Returns nullopt and sets *error (when not null) to a sentence saying what is wrong.
// Thread rule: any thread (pure function).
std::optional<std::uint64_t> parse_size(std::string_view text, std::string* error);

// 16384 -> "16KiB", 1000 -> "1000B": the shortest exact binary-unit text, for messages.
// Thread rule: any thread (pure function).
std::string format_size(std::uint64_t bytes);

}  // namespace switchyard
