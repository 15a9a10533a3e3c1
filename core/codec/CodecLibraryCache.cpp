#include "core/codec/CodecLibraryCache.hpp"

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
    std::lock_guard lock(mutex_);
    if (auto it = libraries_.find(key); it != libraries_.end()) {
        if (auto library = it->second.lock()) return library;
    }
    auto library = CodecLibrary::load(key, failure, message);
    if (library) libraries_[key] = library;
    return library;
}

}  // namespace switchyard
