#pragma once
// Loads each plugin file once per process while any Codec uses it, so several listeners naming
// the same codec share one dlopen and compare equal in Codec::same_framing. Holds weak
// references: a library no instance uses any more is unloaded.
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
    std::mutex mutex_;
    std::map<std::string, std::weak_ptr<const CodecLibrary>> libraries_;
};

}  // namespace switchyard
