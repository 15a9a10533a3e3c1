#pragma once
// Who may have put the code of a codec plugin in place. Loading a plugin runs its code inside
// the daemon, with the daemon's privileges and its clients' bytes: a plugin file, or the
// directory holding it, that someone else can write is a way for them to run code as the
// daemon. A plugin is trusted when the file and its directory are owned by root or by the
// daemon's user, and neither is writable by other users (nor by a group other than root's or
// the daemon's). Anything else is refused, unless the operator says `allow_writable_plugins:
// true`, and then it is loaded with a warning. (sshd's StrictModes and sudo's plugin checks
// apply the same rule.)
#include <cstdint>
#include <string>
#include <vector>

namespace switchyard {

struct PluginTrust {
    std::vector<std::uint32_t> owners;  // uids that may own and write plugins and their directory
    std::vector<std::uint32_t> groups;  // gids whose group-write is tolerated
    bool allow_writable = false;        // load untrusted plugins all the same (with a warning)

    // Root, the running user and group, and `user_uid`/`user_gid` when the daemon will switch
    // to them (the config's `user`), which then own what it may write. Control thread.
    static PluginTrust of_daemon(const std::uint32_t* user_uid, const std::uint32_t* user_gid, bool allow_writable);

    // "" when `file` (a plugin's resolved path) and its directory pass; else what is wrong:
    // "/opt/p/x.so is writable by every user (mode 0666)". Control thread.
    std::string problem(const std::string& file) const;
};

}  // namespace switchyard
