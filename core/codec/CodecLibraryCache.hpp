#pragma once
// Loads each plugin file once per process while any Codec uses it, so several listeners naming
// the same codec share one dlopen and compare equal in Codec::same_framing. Holds weak
// references: a library no instance uses any more is unloaded.
//
// A plugin file replaced on disk (a new inode, size or mtime: install(1) or a rename over it)
// while its old version is still in use is loaded again from a private copy, because dlopen
// hands back the mapping it already has for a path: the reload's new instances get the new
// code, the open connections keep the old mapping until the last of them ends. Replace plugin
// files by rename, never by writing into the file in place (that would change the mapped code).
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/codec/CodecLibrary.hpp"

namespace switchyard {

class CodecLibraryCache {
   public:
    // The process-wide cache. Any thread.
    static CodecLibraryCache& process();

    // The loaded library for `path` (canonicalised, so two spellings of one file share it), or
    // nullptr with *failure and *message as CodecLibrary::load. Control thread only (the mutex
    // only guards against tests loading from several threads).
    std::shared_ptr<const CodecLibrary> load(const std::string& path,
                                             CodecLibrary::Failure* failure, std::string* message);

   private:
    struct FileIdentity {
        unsigned long device = 0, inode = 0;
        long long size = 0, mtime_ns = 0;
        bool operator==(const FileIdentity&) const = default;
    };
    struct Entry {
        std::weak_ptr<const CodecLibrary> library;
        FileIdentity identity;
    };
    std::mutex mutex_;
    std::map<std::string, Entry> libraries_;
};

}  // namespace switchyard
