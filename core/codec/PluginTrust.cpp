#include "core/codec/PluginTrust.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace switchyard {
namespace {

bool contains(const std::vector<std::uint32_t>& ids, std::uint32_t id) {
    return std::find(ids.begin(), ids.end(), id) != ids.end();
}

void add(std::vector<std::uint32_t>& ids, std::uint32_t id) {
    if (!contains(ids, id)) ids.push_back(id);
}

}  // namespace

PluginTrust PluginTrust::of_daemon(const std::uint32_t* user_uid, const std::uint32_t* user_gid,
                                   bool allow_writable) {
    PluginTrust t;
    t.allow_writable = allow_writable;
    add(t.owners, 0);
    add(t.owners, ::geteuid());
    if (user_uid) add(t.owners, *user_uid);
    add(t.groups, 0);
    add(t.groups, ::getegid());
    if (user_gid) add(t.groups, *user_gid);
    return t;
}

std::string PluginTrust::problem(const std::string& file) const {
    std::error_code ec;
    const std::filesystem::path resolved = std::filesystem::canonical(file, ec);
    const std::string path = ec ? file : resolved.string();
    const std::string dir = std::filesystem::path(path).parent_path().string();
    for (const std::string& p : {path, dir}) {
        struct stat st {};
        if (::stat(p.c_str(), &st) != 0) return fmt::format("{}: {}", p, std::strerror(errno));
        const unsigned mode = st.st_mode & 07777;
        if (!contains(owners, st.st_uid))
            return fmt::format("{} is owned by uid {}, neither root nor the daemon's user", p, st.st_uid);
        // A sticky directory (/tmp) still lets every user add files beside the plugin: refused too.
        if (mode & S_IWOTH) return fmt::format("{} is writable by every user (mode {:04o})", p, mode);
        if ((mode & S_IWGRP) && !contains(groups, st.st_gid))
            return fmt::format("{} is writable by group gid {} (mode {:04o})", p, st.st_gid, mode);
    }
    return "";
}

}  // namespace switchyard
