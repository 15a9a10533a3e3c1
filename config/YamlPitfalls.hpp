#pragma once
// YAML that parses as something other than what was meant, recognised so that the error says
// what to write instead of yaml-cpp's bare "end of map not found". The one case so far: an
// unquoted IPv6 address. "[::1]:7000" unquoted starts a YAML flow list, so
//   listen: [::1]:7000          is a syntax error ("end of map not found"),
//   listen: [::1]               is a list holding "::1",
//   endpoints: [[::1]:7000]     is a list holding the mapping {["::1"]: 7000}.
// Internal to config/. Thread rule: any thread (pure functions).
#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <string_view>

namespace switchyard {

// The first unquoted bracketed IPv6 address ("[::1]:7000", "[fe80::1]") on 1-based line `line`
// of `yaml_text`, as written; nullopt when that line has none (quoted ones and comments do not
// count).
std::optional<std::string> unquoted_ipv6_on_line(std::string_view yaml_text, int line);

// The address an unquoted IPv6 address was parsed from, when `node` has one of the shapes above
// (a list of one scalar with a ':' in it, or a mapping of such a list to a port); else nullopt.
std::optional<std::string> unquoted_ipv6_in_node(const YAML::Node& node);

// "quote IPv6 addresses: \"[::1]:7000\"" for the address as written.
std::string quote_ipv6_hint(const std::string& written);

}  // namespace switchyard
