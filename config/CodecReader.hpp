#pragma once
// `codec: {plugin: NAME, key: value, ...}` -> CodecOptions. Whether the plugin exists and accepts
// the options is checked later by core/codec, which uses the marks recorded here.
#include <optional>

#include "config/YamlReader.hpp"

namespace switchyard {

// Thread rule: the thread running the load.
std::optional<CodecOptions> read_codec(YamlReader& reader, const YamlField& field);

}  // namespace switchyard
