#pragma once
// One loaded codec plugin shared object: the dlopen handle and its checked descriptor. Shared by
// every Codec created from it, so the library stays mapped while any instance lives.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/codec.h"

namespace switchyard {

class CodecLibrary {
   public:
    enum class Failure {
        cannot_open,     // dlopen failed (not a shared object, missing dependency, ...)
        not_a_plugin,    // no swy_codec_entry_v<N> symbol
        abi_mismatch,    // built for another ABI major
        bad_descriptor,  // descriptor too small or missing required fields
    };

    // dlopen(RTLD_NOW | RTLD_LOCAL) + entry symbol + descriptor checks. On failure returns
    // nullptr, sets *failure and *message (which names the path). Control thread only; prefer
    // CodecLibraryCache, which loads each path once.
    static std::shared_ptr<const CodecLibrary> load(const std::string& path, Failure* failure,
                                                    std::string* message);

    ~CodecLibrary();  // dlclose
    CodecLibrary(const CodecLibrary&) = delete;
    CodecLibrary& operator=(const CodecLibrary&) = delete;

    // The descriptor as this host understands it: fields the plugin's struct_size does not cover
    // read as zero/NULL. Any thread.
    const swy_codec_descriptor& descriptor() const { return descriptor_; }
    const std::string& path() const { return path_; }  // any thread
    const std::string& name() const { return name_; }  // descriptor name; any thread

    // The option spec named `key`, or nullptr. Any thread.
    const swy_codec_option_spec* find_option(std::string_view key) const;
    // Names of every option the plugin declares, in declaration order. Any thread.
    std::vector<std::string> option_names() const;

   private:
    CodecLibrary(std::string path, void* handle, const swy_codec_descriptor& descriptor);

    std::string path_;
    void* handle_;
    swy_codec_descriptor descriptor_;
    std::string name_;
};

}  // namespace switchyard
