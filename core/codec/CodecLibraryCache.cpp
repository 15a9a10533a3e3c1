#include "core/codec/CodecLibraryCache.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace switchyard {

CodecLibraryCache& CodecLibraryCache::process() {
    static CodecLibraryCache cache;
    return cache;
}

std::shared_ptr<const CodecLibrary> CodecLibraryCache::load(const std::string& path,
                                                            CodecLibrary::Failure* failure,
                                                            std::string* message) {
    std::error_code ec;
    std::string key = std::filesystem::canonical(path, ec).string();
    if (ec) key = path;
    FileIdentity identity;
    struct stat st {};
    if (::stat(key.c_str(), &st) == 0) {
        identity = {static_cast<unsigned long>(st.st_dev), static_cast<unsigned long>(st.st_ino),
                    static_cast<long long>(st.st_size),
                    static_cast<long long>(st.st_mtim.tv_sec) * 1'000'000'000LL + st.st_mtim.tv_nsec};
    }
    std::lock_guard lock(mutex_);
    auto it = libraries_.find(key);
    std::shared_ptr<const CodecLibrary> in_use = it != libraries_.end() ? it->second.library.lock() : nullptr;
    if (in_use && it->second.identity == identity) return in_use;

    std::shared_ptr<const CodecLibrary> library;
    if (!in_use) {
        library = CodecLibrary::load(key, failure, message);
    } else {
        // The file changed under a version still in use: map the new one from a private copy
        // (another path, so dlopen maps it afresh), then drop the copy's name.
        std::string dir = (std::filesystem::temp_directory_path(ec) / "switchyard-plugin-XXXXXX").string();
        if (::mkdtemp(dir.data()) == nullptr) {
            *failure = CodecLibrary::Failure::cannot_open;
            *message = "cannot load the new version of codec plugin " + key + ": mkdtemp: " + std::strerror(errno);
            return nullptr;
        }
        const std::string copy = dir + "/" + std::filesystem::path(key).filename().string();
        std::filesystem::copy_file(key, copy, ec);
        if (ec) {
            *failure = CodecLibrary::Failure::cannot_open;
            *message = "cannot load the new version of codec plugin " + key + ": copy: " + ec.message();
        } else {
            library = CodecLibrary::load(copy, failure, message);
            if (library) spdlog::info("codec plugin {} changed on disk: new version loaded beside the one in use", key);
        }
        ::unlink(copy.c_str());
        ::rmdir(dir.c_str());
    }
    if (library) libraries_[key] = Entry{library, identity};
    return library;
}

}  // namespace switchyard
