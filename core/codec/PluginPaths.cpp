#include "core/codec/PluginPaths.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace switchyard {
namespace {

// True when this process's executable lies under `root` (the build tree).
bool running_from(const std::string& root) {
    std::error_code ec;
    const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec || root.empty()) return false;
    const std::string prefix = root.back() == '/' ? root : root + "/";
    return exe.string().compare(0, prefix.size(), prefix) == 0;
}

void add_unique(std::vector<std::string>* dirs, const std::string& dir) {
    if (!dir.empty() && std::find(dirs->begin(), dirs->end(), dir) == dirs->end())
        dirs->push_back(dir);
}

}  // namespace

PluginPaths::PluginPaths(const std::string& plugin_dir)
    : dirs_(plugin_dir.empty() ? default_dirs() : std::vector<std::string>{plugin_dir}) {}

std::vector<std::string> PluginPaths::default_dirs() {
    std::vector<std::string> dirs;
    if (const char* env = std::getenv("SWITCHYARD_PLUGIN_DIR")) {
        std::string list = env;
        std::size_t start = 0;
        while (start <= list.size()) {
            const std::size_t colon = std::min(list.find(':', start), list.size());
            add_unique(&dirs, list.substr(start, colon - start));
            start = colon + 1;
        }
    }
#ifdef SWITCHYARD_PLUGIN_BUILD_DIR
    // The build tree is the parent of its plugin directory.
    const std::filesystem::path build_plugins = SWITCHYARD_PLUGIN_BUILD_DIR;
    if (running_from(build_plugins.parent_path().string())) add_unique(&dirs, build_plugins.string());
#endif
#ifdef SWITCHYARD_PLUGIN_INSTALL_DIR
    add_unique(&dirs, SWITCHYARD_PLUGIN_INSTALL_DIR);
#endif
    return dirs;
}

std::vector<std::string> PluginPaths::file_names(const std::string& name) {
    std::string underscored = name;
    std::replace(underscored.begin(), underscored.end(), '-', '_');
    std::vector<std::string> names{"switchyard_codec_" + name + ".so"};
    if (underscored != name) names.push_back("switchyard_codec_" + underscored + ".so");
    names.push_back(name + ".so");
    return names;
}

std::optional<std::string> PluginPaths::find(const std::string& name) const {
    const std::vector<std::string> names = file_names(name);
    for (const std::string& dir : dirs_) {
        for (const std::string& file : names) {
            const std::filesystem::path candidate = std::filesystem::path(dir) / file;
            std::error_code ec;
            if (std::filesystem::is_regular_file(candidate, ec)) return candidate.string();
        }
    }
    return std::nullopt;
}

}  // namespace switchyard
