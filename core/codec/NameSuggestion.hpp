#pragma once
// "Did you mean ...?" for misspelt option names.
#include <string>
#include <string_view>
#include <vector>

namespace switchyard {

// The candidate closest to `word` by edit distance, if close enough to be a plausible typo
// (distance <= max(1, word.size() / 3)); empty otherwise. Any thread.
std::string closest_name(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace switchyard
