#pragma once
// Limits shared by the built-in codecs.
#include <cstdint>

namespace switchyard::builtin {

// Default for `max_frame`: large enough for typical request/response protocols, small enough that
// a peer that never sends a delimiter cannot make a connection buffer much.
inline constexpr std::uint64_t kDefaultMaxFrame = 64 * 1024;
// Upper bound for any size option: keeps offset arithmetic far from overflow.
inline constexpr std::uint64_t kLargestMaxFrame = std::uint64_t{1} << 40;

}  // namespace switchyard::builtin
