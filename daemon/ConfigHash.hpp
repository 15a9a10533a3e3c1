#pragma once
// A short fingerprint of a configuration file's bytes, for switchyard_config_info{hash} and the
// reload log: FNV-1a 64 as 16 hex digits. Not a security hash: it tells versions apart.
#include <string>

namespace switchyard {

// The hash of the file's content, or "" when it cannot be read. Any thread.
std::string config_file_hash(const std::string& path);

}  // namespace switchyard
