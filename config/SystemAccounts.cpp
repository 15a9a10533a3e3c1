#include "config/SystemAccounts.hpp"

#include <grp.h>
#include <pwd.h>

#include <charconv>
#include <vector>

namespace switchyard {
namespace {

std::optional<std::uint32_t> numeric_id(const std::string& name) {
    std::uint32_t id = 0;
    auto [ptr, ec] = std::from_chars(name.data(), name.data() + name.size(), id);
    if (name.empty() || ec != std::errc{} || ptr != name.data() + name.size()) return std::nullopt;
    return id;
}

}  // namespace

std::optional<UserAccount> lookup_user(const std::string& name, std::string* error) {
    std::vector<char> buffer(16384);
    passwd entry{}, *found = nullptr;
    const auto id = numeric_id(name);
    const int rc = id ? ::getpwuid_r(*id, &entry, buffer.data(), buffer.size(), &found)
                      : ::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
    if (rc == 0 && found) return UserAccount{found->pw_uid, found->pw_gid};
    // A bare uid with no account entry is still a uid (containers often run such); its group
    // is then unknown and has to be given.
    if (id) return UserAccount{*id, std::nullopt};
    if (error) *error = "no user '" + name + "' on this system";
    return std::nullopt;
}

std::optional<std::uint32_t> lookup_group(const std::string& name, std::string* error) {
    if (auto id = numeric_id(name)) return id;
    std::vector<char> buffer(16384);
    group entry{}, *found = nullptr;
    if (::getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) == 0 && found) return found->gr_gid;
    if (error) *error = "no group '" + name + "' on this system";
    return std::nullopt;
}

namespace {

template <class Lookup>
auto read_account(YamlReader& reader, const YamlField& field, std::string* name, Lookup lookup)
    -> decltype(lookup(std::string(), nullptr)) {
    auto text = reader.string(field);
    if (!text) return std::nullopt;
    std::string problem;
    auto found = lookup(*text, &problem);
    if (found)
        *name = *text;
    else
        reader.error(YamlReader::value_mark(field), problem);
    return found;
}

}  // namespace

std::optional<UserAccount> read_user(YamlReader& reader, const YamlField& field, std::string* name) {
    return read_account(reader, field, name, lookup_user);
}

std::optional<std::uint32_t> read_group(YamlReader& reader, const YamlField& field, std::string* name) {
    return read_account(reader, field, name, lookup_group);
}

}  // namespace switchyard
