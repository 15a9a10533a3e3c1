#pragma once
// "Did you mean ...?" for misspelt keys, enum values and names.
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace switchyard {

// Edit distance counting insertions, deletions, substitutions and swaps of two neighbouring
// characters (optimal string alignment), so "reuse_prot" is one edit from "reuse_port".
// Thread rule: any thread (pure function).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` (case-insensitively), if it is close enough to be a plausible
// typo: at most a third of its length, between 1 and 3 edits. Ties go to the earlier candidate.
// Thread rule: any thread (pure function).
std::optional<std::string> suggest(std::string_view word, std::span<const std::string> candidates);
std::optional<std::string> suggest(std::string_view word, std::span<const std::string_view> candidates);

// " (did you mean X?)" or "" — ready to append to a message.
// Thread rule: any thread (pure function).
std::string did_you_mean(const std::optional<std::string>& suggestion);

}  // namespace switchyard
