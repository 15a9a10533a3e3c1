// Where plugins are looked up.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

#include <catch2/catch.hpp>

#include "core/codec/PluginPaths.hpp"

using namespace switchyard;

namespace {

// Sets an environment variable for one scope and restores the previous value.
class ScopedEnv {
   public:
    ScopedEnv(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        if (value) setenv(name, value, 1);
        else unsetenv(name);
    }
    ~ScopedEnv() {
        if (old_) setenv(name_, old_->c_str(), 1);
        else unsetenv(name_);
    }

   private:
    const char* name_;
    std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("plugin paths: file names tried for a name", "[codec][paths]") {
    CHECK(PluginPaths::file_names("line") ==
          std::vector<std::string>{"switchyard_codec_line.so", "line.so"});
    CHECK(PluginPaths::file_names("length-field") ==
          std::vector<std::string>{"switchyard_codec_length-field.so",
                                   "switchyard_codec_length_field.so", "length-field.so"});
}

TEST_CASE("plugin paths: environment, then build tree, then install dir", "[codec][paths]") {
    {
        ScopedEnv env("SWITCHYARD_PLUGIN_DIR", "/a/plugins:/b/plugins");
        const std::vector<std::string> dirs = PluginPaths::default_dirs();
        REQUIRE(dirs.size() == 4);
        CHECK(dirs[0] == "/a/plugins");
        CHECK(dirs[1] == "/b/plugins");
        CHECK(dirs[2] == SWITCHYARD_PLUGIN_BUILD_DIR);  // this test binary lives in the build tree
        CHECK(dirs[3] == SWITCHYARD_PLUGIN_INSTALL_DIR);
    }
    {
        ScopedEnv env("SWITCHYARD_PLUGIN_DIR", nullptr);
        CHECK(PluginPaths::default_dirs() ==
              std::vector<std::string>{SWITCHYARD_PLUGIN_BUILD_DIR, SWITCHYARD_PLUGIN_INSTALL_DIR});
    }
}

TEST_CASE("plugin paths: a configured plugin_dir replaces the defaults", "[codec][paths]") {
    const PluginPaths paths("/etc/switchyard/plugins");
    CHECK(paths.dirs() == std::vector<std::string>{"/etc/switchyard/plugins"});
}

TEST_CASE("plugin paths: find prefers switchyard_codec_<name>.so, then <name>.so",
          "[codec][paths]") {
    char pattern[] = "/tmp/switchyard-paths-test-XXXXXX";
    const std::filesystem::path dir = mkdtemp(pattern);
    const PluginPaths paths(dir.string());
    CHECK_FALSE(paths.find("mine").has_value());
    std::ofstream(dir / "mine.so") << "x";
    CHECK(paths.find("mine") == (dir / "mine.so").string());
    std::ofstream(dir / "switchyard_codec_mine.so") << "x";
    CHECK(paths.find("mine") == (dir / "switchyard_codec_mine.so").string());
    std::filesystem::create_directory(dir / "switchyard_codec_dir.so");
    CHECK_FALSE(paths.find("dir").has_value());  // directories are not plugins
    std::filesystem::remove_all(dir);
}
