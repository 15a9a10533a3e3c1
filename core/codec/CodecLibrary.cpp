#include "core/codec/CodecLibrary.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <utility>

namespace switchyard {
namespace {

constexpr std::uint32_t kDescriptorVersionFields = 3 * sizeof(std::uint32_t);  // size, major, minor

std::string abi_text(std::uint32_t major, std::uint32_t minor) {
    return std::to_string(major) + "." + std::to_string(minor);
}

std::string this_abi() { return abi_text(SWY_CODEC_ABI_MAJOR, SWY_CODEC_ABI_MINOR); }

// The entry symbol of another ABI major, if the library exports one: lets the refusal say which
// major the plugin was built for instead of "not a plugin".
int other_major(void* handle) {
    for (int major = 0; major <= 16; ++major) {
        if (major == SWY_CODEC_ABI_MAJOR) continue;
        const std::string symbol = "swy_codec_entry_v" + std::to_string(major);
        if (dlsym(handle, symbol.c_str()) != nullptr) return major;
    }
    return -1;
}

// Checks the fields ABI 1.0 requires; returns an empty string when the descriptor is usable.
std::string descriptor_problem(const swy_codec_descriptor& d) {
    if (d.name == nullptr || d.name[0] == '\0') return "descriptor has no name";
    if (d.create == nullptr || d.destroy == nullptr || d.decode == nullptr)
        return "descriptor lacks create, destroy or decode";
    if ((d.capabilities & SWY_CODEC_CAP_ENCODE) && d.encode == nullptr)
        return "descriptor claims encode but has no encode function";
    if (d.option_count > 0 && d.options == nullptr) return "descriptor lists options but no array";
    for (std::size_t i = 0; i < d.option_count; ++i)
        if (d.options[i].name == nullptr) return "an option spec has no name";
    return {};
}

}  // namespace

std::shared_ptr<const CodecLibrary> CodecLibrary::load(const std::string& path, Failure* failure,
                                                       std::string* message) {
    auto fail = [&](Failure f, std::string text, void* handle) {
        if (handle != nullptr) dlclose(handle);
        *failure = f;
        *message = std::move(text);
        return std::shared_ptr<const CodecLibrary>();
    };
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        const char* why = dlerror();
        return fail(Failure::cannot_open,
                    "cannot load codec plugin " + path + ": " + (why ? why : "dlopen failed"),
                    nullptr);
    }
    void* entry_symbol = dlsym(handle, SWY_CODEC_ENTRY_SYMBOL);
    if (entry_symbol == nullptr) {
        if (const int major = other_major(handle); major >= 0)
            return fail(Failure::abi_mismatch,
                        "codec plugin " + path + " was built for codec ABI major " +
                            std::to_string(major) + "; this switchyard supports " + this_abi() +
                            " (rebuild the plugin against this SDK)",
                        handle);
        return fail(Failure::not_a_plugin,
                    path + " is not a switchyard codec plugin (it exports no " +
                        SWY_CODEC_ENTRY_SYMBOL + " symbol)",
                    handle);
    }
    swy_codec_entry_fn entry;
    std::memcpy(&entry, &entry_symbol, sizeof entry);
    const swy_codec_descriptor* raw = entry();
    if (raw == nullptr)
        return fail(Failure::bad_descriptor,
                    "codec plugin " + path + ": " + SWY_CODEC_ENTRY_SYMBOL + " returned NULL",
                    handle);
    if (raw->struct_size < kDescriptorVersionFields)
        return fail(Failure::bad_descriptor,
                    "codec plugin " + path + ": descriptor struct_size " +
                        std::to_string(raw->struct_size) + " is too small",
                    handle);
    // struct_size, abi_major and abi_minor keep their place in every major, so reading them is
    // safe before knowing whether the rest of the layout matches.
    if (raw->abi_major != SWY_CODEC_ABI_MAJOR)
        return fail(Failure::abi_mismatch,
                    "codec plugin " + path + " was built for codec ABI " +
                        abi_text(raw->abi_major, raw->abi_minor) + "; this switchyard supports " +
                        this_abi() + " (major versions must match; rebuild the plugin)",
                    handle);
    // ABI 1.0's descriptor ends with instance_info; a plugin of this major is at least that big.
    constexpr std::size_t kMinimumSize =
        offsetof(swy_codec_descriptor, instance_info) + sizeof(swy_codec_instance_info_fn);
    if (raw->struct_size < kMinimumSize)
        return fail(Failure::bad_descriptor,
                    "codec plugin " + path + ": descriptor struct_size " +
                        std::to_string(raw->struct_size) + " is smaller than ABI 1.0's " +
                        std::to_string(kMinimumSize),
                    handle);
    swy_codec_descriptor descriptor{};
    std::memcpy(&descriptor, raw, std::min<std::size_t>(raw->struct_size, sizeof descriptor));
    if (std::string problem = descriptor_problem(descriptor); !problem.empty())
        return fail(Failure::bad_descriptor, "codec plugin " + path + ": " + problem, handle);
    return std::shared_ptr<const CodecLibrary>(new CodecLibrary(path, handle, descriptor));
}

CodecLibrary::CodecLibrary(std::string path, void* handle, const swy_codec_descriptor& descriptor)
    : path_(std::move(path)), handle_(handle), descriptor_(descriptor), name_(descriptor.name) {}

CodecLibrary::~CodecLibrary() { dlclose(handle_); }

const swy_codec_option_spec* CodecLibrary::find_option(std::string_view key) const {
    for (std::size_t i = 0; i < descriptor_.option_count; ++i)
        if (key == descriptor_.options[i].name) return &descriptor_.options[i];
    return nullptr;
}

std::vector<std::string> CodecLibrary::option_names() const {
    std::vector<std::string> names;
    for (std::size_t i = 0; i < descriptor_.option_count; ++i)
        names.emplace_back(descriptor_.options[i].name);
    return names;
}

}  // namespace switchyard
