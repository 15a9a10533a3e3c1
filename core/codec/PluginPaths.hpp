#pragma once
// Where codec plugins named in the config are looked up.
#include <optional>
#include <string>
#include <vector>

namespace switchyard {

class PluginPaths {
   public:
    // plugin_dir: the config's `plugin_dir`; empty means default_dirs(). Control thread only.
    explicit PluginPaths(const std::string& plugin_dir);

    // Directories searched, in order. Any thread.
    const std::vector<std::string>& dirs() const { return dirs_; }

    // The first existing file for plugin `name` (see file_names) in dirs(). Control thread only.
    std::optional<std::string> find(const std::string& name) const;

    // File names tried in each directory: switchyard_codec_<name>.so (with '-' also spelt '_'),
    // then <name>.so. Any thread.
    static std::vector<std::string> file_names(const std::string& name);

    // $SWITCHYARD_PLUGIN_DIR (a ':'-separated list) if set; then the build tree's plugin
    // directory when the running binary lives in that build tree; then the install directory.
    // Control thread only (reads the environment).
    static std::vector<std::string> default_dirs();

   private:
    std::vector<std::string> dirs_;
};

}  // namespace switchyard
