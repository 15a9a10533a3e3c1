#include "core/options/Suggest.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace switchyard {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

template <typename String>
std::optional<std::string> closest(std::string_view word, std::span<const String> candidates) {
    const std::string needle = lower(word);
    std::optional<std::string> best;
    std::size_t best_distance = 0;
    for (const auto& candidate : candidates) {
        const std::string_view c(candidate);
        const std::size_t limit = std::clamp<std::size_t>(c.size() / 3, 1, 3);
        const std::size_t d = edit_distance(needle, lower(c));
        if (d > limit) continue;
        if (!best || d < best_distance) {
            best = std::string(c);
            best_distance = d;
        }
    }
    return best;
}

}  // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
    // Three rolling rows: the swap rule looks two rows back.
    std::vector<std::size_t> before(b.size() + 1), previous(b.size() + 1), current(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        current[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                current[j] = std::min(current[j], before[j - 2] + 1);
        }
        std::swap(before, previous);
        std::swap(previous, current);
    }
    return previous[b.size()];
}

std::optional<std::string> suggest(std::string_view word, std::span<const std::string> candidates) {
    return closest(word, candidates);
}

std::optional<std::string> suggest(std::string_view word, std::span<const std::string_view> candidates) {
    return closest(word, candidates);
}

std::string did_you_mean(const std::optional<std::string>& suggestion) {
    return suggestion ? " (did you mean " + *suggestion + "?)" : std::string();
}

}  // namespace switchyard
