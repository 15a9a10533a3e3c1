#pragma once
// The schema, one reader per section. Each reads what it can, records every problem in the
// YamlReader and keeps going, so a file's errors are all found in one pass.
#include "config/ConfigSources.hpp"
#include "config/YamlReader.hpp"

namespace switchyard {

// Thread rule for all: the thread running the load.

// The whole document; `root` must be a mapping.
void read_options(YamlReader& reader, const YAML::Node& root, Options& options, ConfigSources& sources);

// `upstreams:` list elements and `listeners:` list elements.
void read_upstream(YamlReader& reader, const YamlField& field, Options& options, ConfigSources& sources);
void read_listener(YamlReader& reader, const YamlField& field, Options& options, ConfigSources& sources);

}  // namespace switchyard
