#include "daemon/PrivilegeDrop.hpp"

#include <grp.h>
#include <pwd.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/options/Options.hpp"

namespace switchyard {
namespace {

[[noreturn]] void fail(const std::string& step, int err) {
    throw std::runtime_error("user: " + step + ": " + std::strerror(err) +
                             "; refusing to run on with the privileges it was started with");
}

}  // namespace

void drop_privileges(const Options& options) {
    if (!options.user_uid || !options.user_gid) return;
    const uid_t uid = static_cast<uid_t>(*options.user_uid);
    const gid_t gid = static_cast<gid_t>(*options.user_gid);
    const std::string who = options.user + (options.group.empty() ? "" : ":" + options.group);
    if (::geteuid() != 0) {
        if (::getuid() == uid && ::geteuid() == uid && ::getegid() == gid) {
            spdlog::info("user: already running as {} (uid {}, gid {})", who, uid, gid);
        } else {
            spdlog::warn("user: {} ignored: not started as root (running as uid {}), so there is nothing to drop",
                         who, ::geteuid());
        }
        return;
    }
    // The user's supplementary groups (a unix socket group it is in, say), or none but `gid`.
    std::vector<char> buffer(16384);
    passwd entry{}, *found = nullptr;
    if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found) {
        if (::initgroups(found->pw_name, gid) != 0) fail("initgroups(" + std::string(found->pw_name) + ")", errno);
    } else if (::setgroups(1, &gid) != 0) {
        fail("setgroups", errno);
    }
    if (::setgid(gid) != 0) fail("setgid(" + std::to_string(gid) + ")", errno);
    if (::setuid(uid) != 0) fail("setuid(" + std::to_string(uid) + ")", errno);
    if (uid != 0 && (::setuid(0) == 0 || ::seteuid(0) == 0)) fail("root could be regained after setuid", EPERM);
    if (::getuid() != uid || ::geteuid() != uid || ::getgid() != gid || ::getegid() != gid)
        fail("the ids did not change as asked", EPERM);
    spdlog::info("user: now running as {} (uid {}, gid {}); every socket was bound before", who, uid, gid);
}

}  // namespace switchyard
