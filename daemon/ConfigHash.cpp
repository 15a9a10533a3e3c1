#include "daemon/ConfigHash.hpp"

#include <cstdint>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

namespace switchyard {

std::string config_file_hash(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) return "";
    std::uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a 64 offset basis
    for (std::istreambuf_iterator<char> it(file), end; it != end; ++it) {
        hash ^= static_cast<unsigned char>(*it);
        hash *= 0x100000001b3ULL;  // FNV 64 prime
    }
    return fmt::format("{:016x}", hash);
}

}  // namespace switchyard
