#pragma once
// User and group names from the config (`user`, `group`, a unix listener's `owner` and `group`)
// looked up in the system's account database when the file is read, so a name that does not
// exist is an error with its YAML line (from --check-config too), not a failure at start-up.
// A number is taken as the id itself. Internal to config/. Thread rule: any thread.
#include <cstdint>
#include <optional>
#include <string>

#include "config/YamlReader.hpp"

namespace switchyard {

struct UserAccount {
    std::uint32_t uid = 0;
    // The user's primary group; unknown for a bare uid the account database does not list.
    std::optional<std::uint32_t> gid;
};

// nullopt with *error set ("no user 'nobdy' on this system") when there is none.
std::optional<UserAccount> lookup_user(const std::string& name, std::string* error);
std::optional<std::uint32_t> lookup_group(const std::string& name, std::string* error);

// The field's name looked up; a name the system does not know is recorded as an error at the
// value, and *name receives the name as written.
std::optional<UserAccount> read_user(YamlReader& reader, const YamlField& field, std::string* name);
std::optional<std::uint32_t> read_group(YamlReader& reader, const YamlField& field, std::string* name);

}  // namespace switchyard
