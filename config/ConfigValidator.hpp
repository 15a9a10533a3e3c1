#pragma once
// Checks that need the whole file: unique listener and upstream names, listeners naming existing
// upstreams, no two listeners (or a listener and the metrics exporter) on the same address and
// protocol, listener/upstream protocol mixes that cannot work, send_proxy towards datagrams, and
// session limits on udp listeners that open no sessions.
// Runs after the section readers, over what they could read, and appends to the same error list.
#include <vector>

#include "config/ConfigSources.hpp"
#include "core/options/ConfigError.hpp"
#include "core/options/Options.hpp"

namespace switchyard {

class ConfigValidator {
public:
    // Thread rule: any thread (reads its arguments only).
    static void check_cross_references(const Options& options, const ConfigSources& sources,
                                       std::vector<ConfigError>& errors);

private:
    static void check_unique_names(const Options& options, const ConfigSources& sources,
                                   std::vector<ConfigError>& errors);
    static void check_upstream_references(const Options& options, const ConfigSources& sources,
                                          std::vector<ConfigError>& errors);
    static void check_listen_addresses(const Options& options, const ConfigSources& sources,
                                       std::vector<ConfigError>& errors);
    // What each listener and the upstream it names speak (streams or datagrams), what a mix of
    // the two needs, and the keys that cannot apply to datagrams (send_proxy) or to a udp
    // listener without sessions (rate_limit, max_sessions_per_ip).
    static void check_transports(const Options& options, const ConfigSources& sources,
                                 std::vector<ConfigError>& errors);
};

}  // namespace switchyard
